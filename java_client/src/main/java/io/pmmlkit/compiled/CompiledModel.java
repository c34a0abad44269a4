package io.pmmlkit.compiled;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.dmg.pmml.DataType;
import org.dmg.pmml.MiningFunction;
import org.dmg.pmml.ResultFeature;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.ModelEvaluator;
import org.jpmml.evaluator.OutputField;
import org.jpmml.evaluator.TargetField;

/**
 * A tree model or tree ensemble translated into flat primitive arrays and scored a batch at a
 * time with tight loops, tree by tree over a block of rows, blocks in parallel for large batches.
 * Built from a JPMML-Evaluator {@link Evaluator}, whose semantics it reproduces (float thresholds,
 * missing value strategies, categorical splits, aggregation, targets, link functions); the caller
 * ({@code io.pmmlkit.Scorer}) checks that against JPMML-Evaluator itself before trusting it.
 * Immutable; thread-safe.
 *
 * <pre>{@code
 * CompiledModel model = CompiledModel.compile(evaluator);   // throws NotCompiled with the reason
 * double[][] x = model.newColumns(rows);                    // fill x[i] for input i (encode)
 * CompiledModel.Results results = model.evaluate(x, rows);
 * }</pre>
 */
public final class CompiledModel {
    private static final int BLOCK = 256;
    private static final long PARALLEL_WORK = 25_000;

    private final FeatureSpace features;
    private final Unit top;
    private final List<Object> classes;
    private final ResultKind[] kinds;
    private final int[] classOf;
    private final int trees;
    private final List<FlatTree> flatTrees;

    private enum ResultKind { CLASS, VALUE, FLOAT_VALUE, PROBABILITY }

    private CompiledModel(FeatureSpace features, Unit top, List<FlatTree> flatTrees, List<Object> classes,
            ResultKind[] kinds, int[] classOf) {
        this.flatTrees = List.copyOf(flatTrees);
        this.features = features;
        this.top = top;
        this.classes = classes;
        this.kinds = kinds;
        this.classOf = classOf;
        this.trees = top.cost();
    }

    /** Translates the evaluator's model, or throws {@link NotCompiled} saying what is not supported. */
    public static CompiledModel compile(Evaluator evaluator) throws NotCompiled {
        if (!(evaluator instanceof ModelEvaluator)) {
            throw new NotCompiled("not a model evaluator");
        }
        ModelEvaluator<?> modelEvaluator = (ModelEvaluator<?>) evaluator;
        FeatureSpace features = new FeatureSpace();
        if (!containsTrees(modelEvaluator.getModel())) {
            throw new NotCompiled("no tree model to compile (" + modelEvaluator.getModel().getClass().getSimpleName() + ")");
        }
        for (InputField field : evaluator.getInputFields()) {
            org.dmg.pmml.MiningField mining = field.getMiningField();
            if (mining != null && mining.getInvalidValueTreatment() == org.dmg.pmml.InvalidValueTreatmentMethod.AS_IS) {
                throw new NotCompiled("input '" + field.getName() + "' keeps invalid values as they are (asIs)");
            }
            features.addInput(field.getName(), field.getDataType());
        }
        List<TargetField> targets = evaluator.getTargetFields();
        if (targets.size() != 1) {
            throw new NotCompiled(targets.size() + " target fields (compiled: one)");
        }
        TargetField target = targets.get(0);
        boolean classification = modelEvaluator.getModel().getMiningFunction() == MiningFunction.CLASSIFICATION;
        List<Object> classes = classification ? target.getCategories() : null;
        List<String> labels = null;
        if (classification) {
            labels = new ArrayList<>();
            for (Object label : classes) {
                labels.add(String.valueOf(label));
            }
        }
        TreeCompiler compiler = new TreeCompiler(features);
        Unit top = compiler.compile(modelEvaluator.getModel(), labels, true);
        List<ResultKind> kinds = new ArrayList<>();
        List<Integer> classOf = new ArrayList<>();
        ResultKind targetKind = classification ? ResultKind.CLASS : valueKind(target.getDataType());
        kinds.add(targetKind);
        classOf.add(-1);
        for (OutputField output : evaluator.getOutputFields()) {
            org.dmg.pmml.OutputField field = output.getField();
            if (field.getExpression() != null) {
                throw new NotCompiled("output '" + output.getName() + "' has an expression");
            }
            if (field.getResultFeature() == ResultFeature.PROBABILITY && classification && field.getValue() != null
                    && output.getDataType() == DataType.DOUBLE) {
                kinds.add(ResultKind.PROBABILITY);
                classOf.add(NodePayload.classIndex(labels, field.getValue()));
            } else if (field.getResultFeature() == ResultFeature.PREDICTED_VALUE && field.getTargetField() == null) {
                kinds.add(targetKind);
                classOf.add(-1);
            } else {
                throw new NotCompiled("output '" + output.getName() + "' (" + field.getResultFeature().value()
                        + ") is not compiled");
            }
        }
        return new CompiledModel(features, top, compiler.trees(), classes, kinds.toArray(new ResultKind[0]),
                classOf.stream().mapToInt(Integer::intValue).toArray());
    }

    private static boolean containsTrees(org.dmg.pmml.Model model) {
        if (model instanceof org.dmg.pmml.tree.TreeModel) {
            return true;
        }
        if (model instanceof org.dmg.pmml.mining.MiningModel && ((org.dmg.pmml.mining.MiningModel) model).getSegmentation() != null) {
            for (org.dmg.pmml.mining.Segment segment : ((org.dmg.pmml.mining.MiningModel) model).getSegmentation().getSegments()) {
                if (containsTrees(segment.requireModel())) {
                    return true;
                }
            }
        }
        return false;
    }

    private static ResultKind valueKind(DataType type) throws NotCompiled {
        if (type == DataType.DOUBLE) {
            return ResultKind.VALUE;
        }
        if (type == DataType.FLOAT) {
            return ResultKind.FLOAT_VALUE;
        }
        throw new NotCompiled("a regression target of data type " + type.value());
    }

    /** Number of trees walked per row. */
    public int trees() {
        return trees;
    }

    FeatureSpace features() {
        return features;
    }

    List<FlatTree> flatTrees() {
        return flatTrees;
    }

    /** Columns for {@code rows} rows: one per input field (fill them) and one per chained value. */
    public double[][] newColumns(int rows) {
        return new double[features.size()][rows];
    }

    /**
     * The column value of input {@code input} (in the evaluator's input field order) for a value
     * prepared by JPMML-Evaluator's {@code InputField.prepare} ({@code null}: missing).
     */
    public double encode(int input, Object prepared) {
        return features.encode(input, prepared);
    }

    /**
     * {@link #encode} of a prepared number, without boxing it: for an input whose prepared values
     * are plain numbers (a double or float field).
     */
    public double encodeNumber(int input, double prepared) {
        return features.isText(input) ? features.encode(input, prepared) : prepared;
    }

    /** How many of all the trees' leaves rows {@code 0 .. rows - 1} of {@code x} reach: {reached, leaves}. */
    public int[] leafCoverage(double[][] x, int rows) {
        int reached = 0;
        int leaves = 0;
        for (FlatTree tree : flatTrees) {
            boolean[] seen = new boolean[tree.size()];
            for (int row = 0; row < rows; row++) {
                int leaf = tree.leaf(x, row);
                if (leaf >= 0 && !seen[leaf]) {
                    seen[leaf] = true;
                    reached += tree.count[leaf] == 0 ? 1 : 0;
                }
            }
            for (int node = 0; node < tree.size(); node++) {
                leaves += tree.count[node] == 0 ? 1 : 0;
            }
        }
        return new int[] {reached, leaves};
    }

    /** Scores rows {@code 0 .. rows - 1} of {@code x} (see {@link #newColumns}). */
    public Results evaluate(double[][] x, int rows) {
        return evaluate(x, rows, Long.MAX_VALUE);
    }

    /**
     * {@link #evaluate(double[][], int)} that gives up once {@link System#nanoTime()} passes
     * {@code deadline}, throwing {@link OverDeadline} with the number of rows scored by then.
     */
    public Results evaluate(double[][] x, int rows, long deadline) {
        Unit.Out out = new Unit.Out(rows, top.classes);
        java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
        int blocks = (rows + BLOCK - 1) / BLOCK;
        boolean parallel = blocks > 1 && (long) rows * trees >= PARALLEL_WORK;
        IntStream range = IntStream.range(0, blocks);
        (parallel ? range.parallel() : range).forEach(block -> {
            int from = block * BLOCK;
            int to = Math.min(rows, from + BLOCK);
            if (deadline != Long.MAX_VALUE && System.nanoTime() - deadline > 0) {
                throw new OverDeadline(done.get());
            }
            Unit.Out part = new Unit.Out(to - from, top.classes);
            top.run(x, from, to, part);
            System.arraycopy(part.value, 0, out.value, from, to - from);
            System.arraycopy(part.label, 0, out.label, from, to - from);
            System.arraycopy(part.probabilities, 0, out.probabilities, from * top.classes, (to - from) * top.classes);
            done.addAndGet(to - from);
        });
        return new Results(out);
    }

    /** Thrown by {@link #evaluate(double[][], int, long)} past its deadline. */
    public static final class OverDeadline extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int rowsScored;

        OverDeadline(int rowsScored) {
            super(null, null, false, false);
            this.rowsScored = rowsScored;
        }

        public int rowsScored() {
            return rowsScored;
        }
    }

    /** What {@link #evaluate} found, per result field (targets then outputs, as the evaluator lists them). */
    public final class Results {
        private final Unit.Out out;

        private Results(Unit.Out out) {
            this.out = out;
        }

        /** True when the model predicts nothing for {@code row} (every result field is then null). */
        public boolean missing(int row) {
            return out.missing(row);
        }

        /** The value of result field {@code field} as JPMML-Evaluator decodes it, or null. */
        public Object value(int field, int row) {
            if (out.missing(row)) {
                return null;
            }
            switch (kinds[field]) {
                case CLASS:
                    return classes.get(out.label[row]);
                case VALUE:
                    return out.value[row] + 0.0; // JPMML-Evaluator's results have no negative zero
                case FLOAT_VALUE:
                    return (float) out.value[row] + 0.0f;
                default:
                    return out.probabilities[row * top.classes + classOf[field]];
            }
        }

        /**
         * {@link #value} of a numeric result field as a {@code double}, {@code NaN} for null,
         * without boxing it.
         */
        public double number(int field, int row) {
            if (out.missing(row)) {
                return Double.NaN;
            }
            switch (kinds[field]) {
                case CLASS:
                    return ((Number) classes.get(out.label[row])).doubleValue();
                case VALUE:
                    return out.value[row] + 0.0;
                case FLOAT_VALUE:
                    return (float) out.value[row] + 0.0f;
                default:
                    return out.probabilities[row * top.classes + classOf[field]];
            }
        }

        /** The class index of {@code row}'s prediction ({@code -1}: none) for a class result field. */
        public int label(int row) {
            return out.label[row];
        }

        /** The class labels of a classification model, in code order, else null. */
        public List<Object> classes() {
            return classes;
        }

        /** True when result field {@code field} is the predicted class. */
        public boolean isClass(int field) {
            return kinds[field] == ResultKind.CLASS;
        }
    }
}
