package io.pmmlkit.compiled;

import java.util.ArrayList;
import java.util.List;
import org.dmg.pmml.InvalidValueTreatmentMethod;
import org.dmg.pmml.MathContext;
import org.dmg.pmml.MiningField;
import org.dmg.pmml.MiningFunction;
import org.dmg.pmml.Model;
import org.dmg.pmml.OutlierTreatmentMethod;
import org.dmg.pmml.Output;
import org.dmg.pmml.OutputField;
import org.dmg.pmml.ResultFeature;
import org.dmg.pmml.Target;
import org.dmg.pmml.Targets;
import org.dmg.pmml.True;
import org.dmg.pmml.mining.MiningModel;
import org.dmg.pmml.mining.Segment;
import org.dmg.pmml.mining.Segmentation;
import org.dmg.pmml.regression.RegressionModel;
import org.dmg.pmml.tree.TreeModel;

/**
 * Translates a PMML model into {@link Unit}s, or says in a {@link NotCompiled} which construct it
 * does not translate. The top model's MiningField treatments are left to JPMML-Evaluator's input
 * preparation; nested models must not add their own.
 */
final class TreeCompiler {
    private final FeatureSpace features;
    private final List<FlatTree> trees = new ArrayList<>();

    TreeCompiler(FeatureSpace features) {
        this.features = features;
    }

    /** {@code classes}: the target's class labels when {@code model} classifies, else null. */
    Unit compile(Model model, List<String> classes, boolean top) throws NotCompiled {
        if (model.getMathContext() == MathContext.FLOAT) {
            throw new NotCompiled("mathContext float is not compiled");
        }
        if (model.getLocalTransformations() != null && model.getLocalTransformations().hasDerivedFields()) {
            throw new NotCompiled("LocalTransformations (derived fields) are not compiled");
        }
        if (!top) {
            checkNestedSchema(model);
        }
        List<String> own = model.getMiningFunction() == MiningFunction.CLASSIFICATION ? classes : null;
        if (model.getMiningFunction() == MiningFunction.CLASSIFICATION && classes == null) {
            throw new NotCompiled("a classification model inside a regression model");
        }
        if (model.getMiningFunction() != MiningFunction.CLASSIFICATION
                && model.getMiningFunction() != MiningFunction.REGRESSION) {
            throw new NotCompiled("mining function " + model.getMiningFunction().value() + " is not compiled");
        }
        Unit unit;
        if (model instanceof TreeModel) {
            FlatTree tree = FlatTree.compile((TreeModel) model, features, own);
            trees.add(tree);
            unit = new TreeUnit(tree, own == null ? 0 : own.size());
        } else if (model instanceof MiningModel) {
            unit = segmentation((MiningModel) model, own);
        } else if (model instanceof RegressionModel) {
            unit = RegressionUnit.compile((RegressionModel) model, features, own);
        } else {
            throw new NotCompiled(model.getClass().getSimpleName() + " is not compiled (trees, tree ensembles and"
                    + " the regression model ending a boosting chain are)");
        }
        return targets(model.getTargets(), unit);
    }

    /** Every tree compiled so far, in document order. */
    List<FlatTree> trees() {
        return trees;
    }

    private Unit segmentation(MiningModel model, List<String> classes) throws NotCompiled {
        Segmentation segmentation = model.requireSegmentation();
        if (segmentation.getLocalTransformations() != null && segmentation.getLocalTransformations().hasDerivedFields()) {
            throw new NotCompiled("Segmentation LocalTransformations are not compiled");
        }
        if (segmentation.getMissingPredictionTreatment() != Segmentation.MissingPredictionTreatment.RETURN_MISSING) {
            throw new NotCompiled("missingPredictionTreatment " + segmentation.getMissingPredictionTreatment().value());
        }
        Segments.Method method = method(segmentation.requireMultipleModelMethod(), classes != null);
        List<Segment> segments = segmentation.requireSegments();
        Unit[] units = new Unit[segments.size()];
        double[] weights = new double[segments.size()];
        int[][] chainColumns = new int[segments.size()][];
        for (int s = 0; s < segments.size(); s++) {
            Segment segment = segments.get(s);
            if (!(segment.requirePredicate() instanceof True)) {
                throw new NotCompiled("a segment whose predicate is not <True/>");
            }
            boolean last = s == segments.size() - 1;
            boolean chained = method == Segments.Method.MODEL_CHAIN && !last;
            Model inner = segment.requireModel();
            units[s] = compile(inner, chained ? null : classes, false);
            weights[s] = segment.getWeight().doubleValue();
            chainColumns[s] = chained ? chainOutputs(inner.getOutput()) : new int[0];
        }
        return new Segments(method, units, weights, chainColumns, classes == null ? 0 : classes.size());
    }

    private int[] chainOutputs(Output output) throws NotCompiled {
        List<Integer> columns = new ArrayList<>();
        if (output != null && output.hasOutputFields()) {
            for (OutputField field : output.getOutputFields()) {
                if (field.getResultFeature() != ResultFeature.PREDICTED_VALUE || field.getExpression() != null
                        || field.getDataType() != org.dmg.pmml.DataType.DOUBLE) {
                    throw new NotCompiled("a model chain passes on output '" + field.requireName() + "' ("
                            + field.getResultFeature().value() + "); compiled chains pass predicted values");
                }
                columns.add(features.addComputed(field.requireName()));
            }
        }
        return columns.stream().mapToInt(Integer::intValue).toArray();
    }

    private static Segments.Method method(Segmentation.MultipleModelMethod method, boolean classification)
            throws NotCompiled {
        switch (method) {
            case MODEL_CHAIN:
                return Segments.Method.MODEL_CHAIN;
            case AVERAGE:
                return Segments.Method.AVERAGE;
            case WEIGHTED_AVERAGE:
                return Segments.Method.WEIGHTED_AVERAGE;
            case SUM:
                if (!classification) {
                    return Segments.Method.SUM;
                }
                break;
            case WEIGHTED_SUM:
                if (!classification) {
                    return Segments.Method.WEIGHTED_SUM;
                }
                break;
            default:
                break;
        }
        throw new NotCompiled("multipleModelMethod " + method.value() + " is not compiled for "
                + (classification ? "classification" : "regression"));
    }

    private static Unit targets(Targets targets, Unit unit) throws NotCompiled {
        if (targets == null || !targets.hasTargets()) {
            return unit;
        }
        if (targets.getTargets().size() != 1) {
            throw new NotCompiled("more than one Target");
        }
        Target target = targets.getTargets().get(0);
        if (target.getCastInteger() != null || target.getMin() != null || target.getMax() != null
                || target.hasTargetValues()) {
            throw new NotCompiled("a Target with castInteger, min, max or TargetValues is not compiled");
        }
        double factor = target.getRescaleFactor().doubleValue();
        double constant = target.getRescaleConstant().doubleValue();
        if (unit.classes > 0) {
            if (factor == 1.0 && constant == 0.0) {
                return unit;
            }
            throw new NotCompiled("a rescaled Target on a classification model");
        }
        return new Rescaled(unit, factor, constant);
    }

    private static void checkNestedSchema(Model model) throws NotCompiled {
        for (MiningField field : model.requireMiningSchema().getMiningFields()) {
            boolean plain = field.getMissingValueReplacement() == null && field.getInvalidValueReplacement() == null
                    && field.getInvalidValueTreatment() == InvalidValueTreatmentMethod.RETURN_INVALID
                    && field.getOutlierTreatment() == OutlierTreatmentMethod.AS_IS
                    && field.getLowValue() == null && field.getHighValue() == null;
            if (!plain) {
                throw new NotCompiled("nested MiningField '" + field.requireName() + "' has its own value treatment");
            }
        }
    }
}
