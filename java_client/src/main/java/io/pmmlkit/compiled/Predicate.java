package io.pmmlkit.compiled;

import java.util.List;
import org.dmg.pmml.Array;
import org.dmg.pmml.False;
import org.dmg.pmml.SimplePredicate;
import org.dmg.pmml.SimpleSetPredicate;
import org.dmg.pmml.True;
import org.jpmml.evaluator.ArrayUtil;

/**
 * One tree node's predicate as three numbers and an optional set: what {@link FlatTree} keeps per
 * node. Evaluates to {@link #TRUE}, {@link #FALSE} or {@link #UNKNOWN} (a missing value, where
 * PMML's three-valued logic says neither). Immutable.
 */
final class Predicate {
    static final int TRUE = 1;
    static final int FALSE = 0;
    static final int UNKNOWN = -1;

    static final byte ALWAYS = 0;
    static final byte NEVER = 1;
    static final byte LESS_OR_EQUAL = 2;
    static final byte LESS_THAN = 3;
    static final byte GREATER_THAN = 4;
    static final byte GREATER_OR_EQUAL = 5;
    static final byte EQUAL = 6;
    static final byte NOT_EQUAL = 7;
    static final byte IS_MISSING = 8;
    static final byte IS_NOT_MISSING = 9;
    static final byte IS_IN = 10;
    static final byte IS_NOT_IN = 11;

    final byte op;
    final int feature;
    final double value;
    final double[] set;

    private Predicate(byte op, int feature, double value, double[] set) {
        this.op = op;
        this.feature = feature;
        this.value = value;
        this.set = set;
    }

    static Predicate compile(org.dmg.pmml.Predicate predicate, FeatureSpace features) throws NotCompiled {
        if (predicate instanceof True) {
            return new Predicate(ALWAYS, 0, 0, null);
        }
        if (predicate instanceof False) {
            return new Predicate(NEVER, 0, 0, null);
        }
        if (predicate instanceof SimplePredicate) {
            SimplePredicate simple = (SimplePredicate) predicate;
            int feature = features.index(simple.getField());
            byte op = operator(simple.getOperator());
            boolean unary = op == IS_MISSING || op == IS_NOT_MISSING;
            double value = unary ? 0 : features.constant(feature, simple.getValue());
            if (features.isText(feature) && op != EQUAL && op != NOT_EQUAL && !unary) {
                throw new NotCompiled("text field '" + simple.getField() + "' is compared with "
                        + simple.getOperator().value());
            }
            return new Predicate(op, feature, value, null);
        }
        if (predicate instanceof SimpleSetPredicate) {
            SimpleSetPredicate setPredicate = (SimpleSetPredicate) predicate;
            int feature = features.index(setPredicate.getField());
            Array array = setPredicate.getArray();
            List<?> content = ArrayUtil.getContent(array);
            double[] set = new double[content.size()];
            for (int i = 0; i < set.length; i++) {
                set[i] = features.constant(feature, content.get(i));
            }
            boolean in = setPredicate.getBooleanOperator() == SimpleSetPredicate.BooleanOperator.IS_IN;
            return new Predicate(in ? IS_IN : IS_NOT_IN, feature, 0, set);
        }
        throw new NotCompiled(predicate.getClass().getSimpleName() + " in a tree node is not compiled");
    }

    private static byte operator(SimplePredicate.Operator operator) {
        switch (operator) {
            case LESS_OR_EQUAL:
                return LESS_OR_EQUAL;
            case LESS_THAN:
                return LESS_THAN;
            case GREATER_THAN:
                return GREATER_THAN;
            case GREATER_OR_EQUAL:
                return GREATER_OR_EQUAL;
            case EQUAL:
                return EQUAL;
            case NOT_EQUAL:
                return NOT_EQUAL;
            case IS_MISSING:
                return IS_MISSING;
            case IS_NOT_MISSING:
                return IS_NOT_MISSING;
            default:
                throw new IllegalStateException(operator.value());
        }
    }

    /** True for the operators that compare with {@code value} or {@code set}. */
    static boolean comparesValue(byte op) {
        return (op >= LESS_OR_EQUAL && op <= NOT_EQUAL) || op == IS_IN || op == IS_NOT_IN;
    }

    /** The predicate on value {@code x} of its feature ({@code NaN} is missing). */
    static int evaluate(byte op, double x, double value, double[] set) {
        switch (op) {
            case ALWAYS:
                return TRUE;
            case NEVER:
                return FALSE;
            case IS_MISSING:
                return x != x ? TRUE : FALSE;
            case IS_NOT_MISSING:
                return x != x ? FALSE : TRUE;
            default:
                break;
        }
        if (x != x) {
            return UNKNOWN;
        }
        switch (op) {
            case LESS_OR_EQUAL:
                return x <= value ? TRUE : FALSE;
            case LESS_THAN:
                return x < value ? TRUE : FALSE;
            case GREATER_THAN:
                return x > value ? TRUE : FALSE;
            case GREATER_OR_EQUAL:
                return x >= value ? TRUE : FALSE;
            case EQUAL:
                return x == value ? TRUE : FALSE;
            case NOT_EQUAL:
                return x != value ? TRUE : FALSE;
            case IS_IN:
                return contains(set, x) ? TRUE : FALSE;
            default:
                return contains(set, x) ? FALSE : TRUE;
        }
    }

    private static boolean contains(double[] set, double x) {
        for (double member : set) {
            if (member == x) {
                return true;
            }
        }
        return false;
    }
}
