package io.pmmlkit;

import io.pmmlkit.compiled.CompiledModel;
import io.pmmlkit.compiled.NotCompiled;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.FieldValue;

/**
 * Scores with a {@link CompiledModel}: inputs checked and prepared per value exactly as on the
 * JPMML-Evaluator path ({@link InputPreparer}, the same errors), written into primitive columns,
 * then the whole batch scored by the compiled trees. Thread-safe.
 */
final class CompiledScoring {
    private final CompiledModel model;
    private final List<InputPreparer> preparers;
    private final List<FieldSpec> results;
    private final int version;
    private final String description;

    private CompiledScoring(CompiledModel model, List<InputPreparer> preparers, List<FieldSpec> results, int version,
            String description) {
        this.model = model;
        this.preparers = preparers;
        this.results = results;
        this.version = version;
        this.description = description;
    }

    /**
     * Compiles the evaluator's model and proves it against JPMML-Evaluator ({@link CompiledCheck});
     * throws {@link NotCompiled} with the reason when either fails.
     */
    static CompiledScoring compile(Evaluator evaluator, List<InputPreparer> preparers, List<FieldSpec> results,
            int version) throws NotCompiled {
        CompiledModel model = CompiledModel.compile(evaluator);
        CompiledCheck check = CompiledCheck.run(evaluator, model, results);
        if (check.difference != null) {
            throw new NotCompiled("the compiled evaluator differs from JPMML-Evaluator " + check.difference);
        }
        String description = String.format(java.util.Locale.ROOT,
                "compiled: %d trees; equal to JPMML-Evaluator on %d check rows reaching %d of %d leaves",
                model.trees(), check.rows, check.leavesReached, check.leaves);
        return new CompiledScoring(model, preparers, results, version, description);
    }

    String describe() {
        return description;
    }

    CompiledModel model() {
        return model;
    }

    /** {@code timeoutMillis} as in {@link Scorer#scoreColumns(String[], Object[], long)}. */
    ColumnBatch scoreColumns(InputColumns input, String source, long timeoutMillis) {
        int rows = input.rows();
        long deadline = timeoutMillis > 0 ? System.nanoTime() + timeoutMillis * 1_000_000L : Long.MAX_VALUE;
        Prepared prepared = new Prepared(rows);
        for (int i = 0; i < preparers.size(); i++) {
            Object column = input.column(preparers.get(i).spec().name());
            if (column instanceof double[] && preparers.get(i).takesPlainNumbers()) {
                prepared.putNumbers(i, (double[]) column);
            } else if (column instanceof CodedStrings) {
                prepared.putCoded(i, (CodedStrings) column);
            } else {
                for (int row = 0; row < rows; row++) {
                    prepared.put(i, row, InputColumns.value(column, row));
                }
            }
            if (System.nanoTime() - deadline > 0) {
                throw timeout(source, 0, rows, timeoutMillis);
            }
        }
        CompiledModel.Results scored;
        try {
            scored = model.evaluate(prepared.x, rows, deadline);
        } catch (CompiledModel.OverDeadline e) {
            throw timeout(source, e.rowsScored(), rows, timeoutMillis);
        }
        prepared.listErrors();
        Object[] columns = new Object[results.size()];
        for (int f = 0; f < columns.length; f++) {
            columns[f] = column(scored, f, rows, prepared);
        }
        return new ColumnBatch(rows, results, columns, prepared.errorRows, prepared.errors);
    }

    static ScoringException timeout(String source, int scored, int rows, long timeoutMillis) {
        return new ScoringException("timeout", null, "Model '" + source + "' scored " + scored + " of " + rows
                + " rows in the " + timeoutMillis + " ms allowed; the request was stopped.");
    }

    List<ScoreResult> scoreAll(List<? extends Map<String, ?>> records) {
        int rows = records.size();
        Prepared prepared = new Prepared(rows);
        for (int row = 0; row < rows; row++) {
            Map<String, ?> record = records.get(row);
            for (int i = 0; i < preparers.size(); i++) {
                prepared.put(i, row, record == null ? null : record.get(preparers.get(i).spec().name()));
            }
        }
        CompiledModel.Results scored = model.evaluate(prepared.x, rows);
        List<ScoreResult> out = new ArrayList<>(rows);
        for (int row = 0; row < rows; row++) {
            if (records.get(row) == null) {
                out.add(ScoreResult.failed(List.of(new FieldError(null, "invalid_record",
                        "A record must be an object of field values; got null.")), version));
            } else if (prepared.rowErrors[row] != null) {
                out.add(ScoreResult.failed(prepared.rowErrors[row], version));
            } else {
                out.add(ScoreResult.ok(values(scored, row), version));
            }
        }
        return out;
    }

    /** One row's results by field name, as JPMML-Evaluator's path returns them. */
    Map<String, Object> values(CompiledModel.Results scored, int row) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (int f = 0; f < results.size(); f++) {
            values.put(results.get(f).name(), scored.value(f, row));
        }
        return values;
    }

    private Object column(CompiledModel.Results scored, int f, int rows, Prepared prepared) {
        if (results.get(f).isNumeric()) {
            double[] column = new double[rows];
            for (int row = 0; row < rows; row++) {
                column[row] = prepared.rowErrors[row] == null ? scored.number(f, row) : Double.NaN;
            }
            return column;
        }
        if (!scored.isClass(f)) {
            throw new IllegalStateException("a text result that is not the predicted class");
        }
        int[] codes = new int[rows];
        for (int row = 0; row < rows; row++) {
            codes[row] = prepared.rowErrors[row] == null ? scored.label(row) : -1;
        }
        String[] dictionary = scored.classes().stream().map(String::valueOf).toArray(String[]::new);
        return new CodedStrings(codes, dictionary);
    }

    /** Prepared input columns and each row's input problems. */
    private final class Prepared {
        final double[][] x;
        @SuppressWarnings("unchecked")
        final List<FieldError>[] rowErrors;
        final List<Integer> errorRows = new ArrayList<>();
        final List<FieldError> errors = new ArrayList<>();
        private final List<FieldError> scratch = new ArrayList<>(2);

        @SuppressWarnings("unchecked")
        Prepared(int rows) {
            x = model.newColumns(rows);
            rowErrors = new List[rows];
        }

        void listErrors() {
            for (int row = 0; row < rowErrors.length; row++) {
                if (rowErrors[row] != null) {
                    for (FieldError error : rowErrors[row]) {
                        errorRows.add(row);
                        errors.add(error);
                    }
                }
            }
        }

        void put(int input, int row, Object raw) {
            FieldValue value = preparers.get(input).prepare(raw, scratch);
            if (!scratch.isEmpty()) {
                addErrors(row, scratch);
                scratch.clear();
            }
            x[input][row] = model.encode(input, value == null ? null : value.getValue());
        }

        /**
         * A column of numbers for a field that {@link InputPreparer#takesPlainNumbers}: each
         * finite number is its own prepared value, the rest (missing, infinite) go through
         * {@link #put} as before.
         */
        void putNumbers(int input, double[] column) {
            InputPreparer preparer = preparers.get(input);
            double[] into = x[input];
            for (int row = 0; row < column.length; row++) {
                double value = column[row];
                if (Double.isFinite(value)) {
                    into[row] = model.encodeNumber(input, preparer.plainValue(value));
                } else {
                    put(input, row, InputColumns.value(column, row));
                }
            }
        }

        /**
         * A dictionary-coded text column: each distinct value (and missing) is prepared once,
         * its column value and its problems then given to every row that holds it.
         */
        void putCoded(int input, CodedStrings column) {
            String[] dictionary = column.dictionary();
            double[] encoded = new double[dictionary.length + 1]; // [0]: missing, [code + 1]: the value
            @SuppressWarnings("unchecked")
            List<FieldError>[] problems = new List[dictionary.length + 1];
            for (int code = -1; code < dictionary.length; code++) {
                FieldValue value = preparers.get(input).prepare(code < 0 ? null : dictionary[code], scratch);
                encoded[code + 1] = model.encode(input, value == null ? null : value.getValue());
                problems[code + 1] = scratch.isEmpty() ? null : List.copyOf(scratch);
                scratch.clear();
            }
            int[] codes = column.codes();
            double[] into = x[input];
            for (int row = 0; row < codes.length; row++) {
                into[row] = encoded[codes[row] + 1];
                if (problems[codes[row] + 1] != null) {
                    addErrors(row, problems[codes[row] + 1]);
                }
            }
        }

        private void addErrors(int row, List<FieldError> found) {
            if (rowErrors[row] == null) {
                rowErrors[row] = new ArrayList<>(2);
            }
            rowErrors[row].addAll(found);
        }
    }
}
