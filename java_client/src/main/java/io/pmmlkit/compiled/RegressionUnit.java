package io.pmmlkit.compiled;

import java.util.List;
import org.dmg.pmml.regression.NumericPredictor;
import org.dmg.pmml.regression.RegressionModel;
import org.dmg.pmml.regression.RegressionTable;

/**
 * A RegressionModel with numeric predictors only, the last segment of the model chains that
 * sklearn2pmml writes for boosting classifiers: one table per class, {@code intercept +
 * coefficient * x ...}, turned into probabilities by {@code logit} (binary) or {@code softmax}.
 * Regression tables with normalization {@code none} give the value itself.
 */
final class RegressionUnit extends Unit {
    private final RegressionModel.NormalizationMethod normalization;
    private final double[] intercepts;
    private final int[][] fields;
    private final double[][] coefficients;
    /** The class index of each table (classification). */
    private final int[] tableClass;

    private RegressionUnit(int classes, RegressionModel.NormalizationMethod normalization, double[] intercepts,
            int[][] fields, double[][] coefficients, int[] tableClass) {
        super(classes);
        this.normalization = normalization;
        this.intercepts = intercepts;
        this.fields = fields;
        this.coefficients = coefficients;
        this.tableClass = tableClass;
    }

    static RegressionUnit compile(RegressionModel model, FeatureSpace features, List<String> classes) throws NotCompiled {
        RegressionModel.NormalizationMethod normalization = model.getNormalizationMethod();
        List<RegressionTable> tables = model.getRegressionTables();
        int k = classes == null ? 0 : classes.size();
        if (k == 0 && (normalization != RegressionModel.NormalizationMethod.NONE || tables.size() != 1)) {
            throw new NotCompiled("a regression RegressionModel with normalization " + normalization.value());
        }
        if (k == 2 && normalization == RegressionModel.NormalizationMethod.SOFTMAX && tables.size() == 2
                && isPassive(tables.get(1))) {
            // JPMML-Evaluator scores this pair as a binary logit (RegressionTableUtil).
            normalization = RegressionModel.NormalizationMethod.LOGIT;
        }
        if (k > 0 && !(normalization == RegressionModel.NormalizationMethod.SOFTMAX
                || (normalization == RegressionModel.NormalizationMethod.LOGIT && k == 2))) {
            throw new NotCompiled("a classification RegressionModel with normalization " + normalization.value()
                    + " for " + k + " classes");
        }
        if (k > 0 && tables.size() != k) {
            throw new NotCompiled("a RegressionModel with " + tables.size() + " tables for " + k + " classes");
        }
        double[] intercepts = new double[tables.size()];
        int[][] fields = new int[tables.size()][];
        double[][] coefficients = new double[tables.size()][];
        int[] tableClass = new int[tables.size()];
        for (int t = 0; t < tables.size(); t++) {
            RegressionTable table = tables.get(t);
            if (table.hasCategoricalPredictors() || table.hasPredictorTerms()) {
                throw new NotCompiled("a RegressionTable with categorical predictors or predictor terms");
            }
            intercepts[t] = table.requireIntercept().doubleValue();
            List<NumericPredictor> predictors = table.hasNumericPredictors() ? table.getNumericPredictors() : List.of();
            fields[t] = new int[predictors.size()];
            coefficients[t] = new double[predictors.size()];
            for (int p = 0; p < predictors.size(); p++) {
                NumericPredictor predictor = predictors.get(p);
                if (predictor.getExponent() != null && predictor.getExponent() != 1) {
                    throw new NotCompiled("a NumericPredictor with exponent " + predictor.getExponent());
                }
                fields[t][p] = features.index(predictor.requireField());
                coefficients[t][p] = predictor.requireCoefficient().doubleValue();
            }
            tableClass[t] = k == 0 ? 0 : NodePayload.classIndex(classes, table.requireTargetCategory());
        }
        return new RegressionUnit(k, normalization, intercepts, fields, coefficients, tableClass);
    }

    private static boolean isPassive(RegressionTable table) {
        return !table.hasNumericPredictors() && !table.hasCategoricalPredictors() && !table.hasPredictorTerms()
                && table.requireIntercept().doubleValue() == 0.0;
    }

    @Override
    void run(double[][] x, int from, int to, Out out) {
        double[] y = new double[intercepts.length];
        for (int row = from; row < to; row++) {
            int i = row - from;
            boolean missing = false;
            for (int t = 0; t < y.length; t++) {
                // JPMML-Evaluator: from 0, predictors in document order, the intercept last.
                double sum = 0;
                for (int p = 0; p < fields[t].length; p++) {
                    double value = x[fields[t][p]][row];
                    missing |= value != value;
                    sum += coefficients[t][p] * value;
                }
                if (intercepts[t] != 0) {
                    sum += intercepts[t];
                }
                y[t] = sum;
            }
            if (missing) {
                out.setMissing(i);
            } else if (classes == 0) {
                out.value[i] = y[0];
            } else {
                normalize(y, out, i);
            }
        }
    }

    private void normalize(double[] y, Out out, int i) {
        int base = i * classes;
        if (normalization == RegressionModel.NormalizationMethod.LOGIT) {
            double p = 1.0 / (1.0 + Math.exp(-y[0]));
            out.probabilities[base + tableClass[0]] = p;
            out.probabilities[base + tableClass[1]] = 1.0 - p;
        } else {
            // JPMML-Evaluator (ValueUtil.normalizeSoftMax): exp(y - first max), summed in order.
            double max = y[0];
            for (int t = 1; t < y.length; t++) {
                if (max < y[t]) {
                    max = y[t];
                }
            }
            double sum = 0;
            for (int t = 0; t < y.length; t++) {
                y[t] = Math.exp(y[t] - max);
                sum = t == 0 ? y[t] : sum + y[t];
            }
            for (int t = 0; t < y.length; t++) {
                out.probabilities[base + tableClass[t]] = sum != 1 ? y[t] / sum : y[t];
            }
        }
        // The winner is the first maximum in table order.
        int best = tableClass[0];
        for (int t = 1; t < tableClass.length; t++) {
            if (out.probabilities[base + tableClass[t]] > out.probabilities[base + best]) {
                best = tableClass[t];
            }
        }
        out.label[i] = best;
        out.listed[i] = -1L;
    }

    @Override
    int cost() {
        return 1;
    }
}
