package io.pmmlkit;

import io.pmmlkit.compiled.CheckRows;
import io.pmmlkit.compiled.CompiledModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.dmg.pmml.InlineTable;
import org.dmg.pmml.ModelVerification;
import org.dmg.pmml.VerificationField;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.FieldValue;
import org.jpmml.evaluator.InlineTableUtil;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.ModelEvaluator;

/**
 * The load-time proof that a {@link CompiledModel} scores exactly as JPMML-Evaluator: both engines
 * score the PMML's verification rows and generated rows that reach the trees' leaves (see
 * {@link CheckRows}), from the same prepared inputs, and every result field must be equal
 * ({@link Objects#equals}: bit for bit for numbers).
 */
final class CompiledCheck {
    static final int RANDOM_ROWS = 2000;
    static final int MAX_ROWS = 20000;
    private static final long SEED = 20241124L;

    final int rows;
    final int leavesReached;
    final int leaves;
    /** Null when the engines agree on every row, else what differed. */
    final String difference;

    private CompiledCheck(int rows, int leavesReached, int leaves, String difference) {
        this.rows = rows;
        this.leavesReached = leavesReached;
        this.leaves = leaves;
        this.difference = difference;
    }

    static CompiledCheck run(Evaluator evaluator, CompiledModel model, List<FieldSpec> results) {
        List<InputField> inputs = evaluator.getInputFields();
        List<Object[]> raw = verificationRows(evaluator);
        raw.addAll(CheckRows.generate(model, RANDOM_ROWS, MAX_ROWS, SEED));
        List<Map<String, FieldValue>> arguments = new ArrayList<>();
        for (Object[] row : raw) {
            Map<String, FieldValue> prepared = prepare(inputs, row);
            if (prepared != null) {
                arguments.add(prepared);
            }
        }
        int rows = arguments.size();
        double[][] x = model.newColumns(rows);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < inputs.size(); i++) {
                FieldValue value = arguments.get(r).get(inputs.get(i).getName());
                x[i][r] = model.encode(i, value == null ? null : value.getValue());
            }
        }
        int[] coverage = model.leafCoverage(x, rows);
        CompiledModel.Results compiled = model.evaluate(x, rows);
        // JPMML-Evaluator is thread-safe: its side of the check runs on every core.
        String difference = java.util.stream.IntStream.range(0, rows).parallel()
                .mapToObj(r -> compare(evaluator, arguments.get(r), compiled, r, results))
                .filter(Objects::nonNull).findFirst().orElse(null);
        return new CompiledCheck(rows, coverage[0], coverage[1], difference);
    }

    private static String compare(Evaluator evaluator, Map<String, FieldValue> arguments,
            CompiledModel.Results compiled, int row, List<FieldSpec> results) {
        Map<String, ?> expected;
        try {
            expected = evaluator.evaluate(arguments);
        } catch (RuntimeException e) {
            return "JPMML-Evaluator fails on " + show(arguments) + " (" + ModelLoader.describe(e) + ")";
        }
        for (int f = 0; f < results.size(); f++) {
            FieldSpec field = results.get(f);
            Object want = EvaluatorUtil.decode(expected.get(field.synthetic() ? Evaluator.DEFAULT_TARGET_NAME : field.name()));
            Object got = compiled.value(f, row);
            if (!Objects.equals(want, got)) {
                return "on " + show(arguments) + " field '" + field.name() + "' is " + got
                        + " compiled and " + want + " in JPMML-Evaluator";
            }
        }
        return null;
    }

    private static Map<String, FieldValue> prepare(List<InputField> inputs, Object[] row) {
        Map<String, FieldValue> prepared = new LinkedHashMap<>();
        try {
            for (int i = 0; i < inputs.size(); i++) {
                prepared.put(inputs.get(i).getName(), inputs.get(i).prepare(row[i]));
            }
        } catch (RuntimeException e) {
            return null; // a value the model refuses as input: not a row either engine scores
        }
        return prepared;
    }

    /** The PMML's ModelVerification rows as raw input rows (text cells, parsed by prepare). */
    private static List<Object[]> verificationRows(Evaluator evaluator) {
        List<Object[]> rows = new ArrayList<>();
        ModelVerification verification = ((ModelEvaluator<?>) evaluator).getModel().getModelVerification();
        if (verification == null || verification.getInlineTable() == null || verification.getVerificationFields() == null) {
            return rows;
        }
        InlineTable table = verification.getInlineTable();
        com.google.common.collect.Table<Integer, String, Object> content = InlineTableUtil.getContent(table);
        Map<String, String> columns = new LinkedHashMap<>();
        for (VerificationField field : verification.getVerificationFields()) {
            columns.put(field.requireField(), field.getColumn() != null ? field.getColumn() : field.requireField());
        }
        List<InputField> inputs = evaluator.getInputFields();
        for (Integer key : content.rowKeySet()) {
            Object[] row = new Object[inputs.size()];
            for (int i = 0; i < row.length; i++) {
                String column = columns.get(inputs.get(i).getName());
                row[i] = column == null ? null : content.get(key, column);
            }
            rows.add(row);
        }
        return rows;
    }

    private static String show(Map<String, FieldValue> arguments) {
        Map<String, Object> values = new LinkedHashMap<>();
        arguments.forEach((name, value) -> values.put(name, value == null ? null : value.getValue()));
        return values.toString();
    }
}
