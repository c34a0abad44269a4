package io.pmmlkit;

import com.google.common.collect.BoundType;
import com.google.common.collect.Range;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.dmg.pmml.DataType;
import org.dmg.pmml.MissingValueTreatmentMethod;
import org.dmg.pmml.OpType;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.OutputField;
import org.jpmml.evaluator.TargetField;

/**
 * What a model expects of one input field or promises of one result field: name, data type
 * ({@code double}, {@code float}, {@code integer}, {@code string}, {@code boolean}, ...), operational
 * type ({@code continuous}, {@code categorical}, {@code ordinal}), the valid categories or numeric
 * intervals, and whether a missing value is accepted. Immutable and thread-safe.
 *
 * <pre>{@code
 * for (FieldSpec field : predictor.inputFields()) {
 *     System.out.println(field.name() + " " + field.dataType() + " " + field.categories());
 * }
 * }</pre>
 */
public final class FieldSpec {
    /** The name given to the target of a model that declares none. */
    public static final String SYNTHETIC_TARGET = "_target";

    private final String name;
    private final String dataType;
    private final String opType;
    private final List<Object> categories;
    private final List<Interval> intervals;
    private final boolean missingAllowed;
    private final boolean synthetic;

    private FieldSpec(String name, DataType dataType, OpType opType, List<?> categories,
            List<Interval> intervals, boolean missingAllowed) {
        this.name = name;
        this.dataType = dataType != null ? dataType.value() : "string";
        this.opType = opType != null ? opType.value() : "categorical";
        this.categories = Collections.unmodifiableList(new ArrayList<>(categories));
        this.intervals = List.copyOf(intervals);
        this.missingAllowed = missingAllowed;
        this.synthetic = false;
    }

    private FieldSpec(FieldSpec spec, String name) {
        this.name = name;
        this.dataType = spec.dataType;
        this.opType = spec.opType;
        this.categories = spec.categories;
        this.intervals = spec.intervals;
        this.missingAllowed = spec.missingAllowed;
        this.synthetic = true;
    }

    static FieldSpec of(InputField field) {
        boolean discrete = field.getOpType() != OpType.CONTINUOUS;
        List<?> categories = discrete ? field.getDiscreteDomain() : List.of();
        List<Interval> intervals = new ArrayList<>();
        if (!discrete && field.getContinuousDomain() != null) {
            for (Range<Double> range : field.getContinuousDomain().asRanges()) {
                intervals.add(Interval.of(range));
            }
        }
        MissingValueTreatmentMethod treatment = field.getMiningField().getMissingValueTreatment();
        boolean missingAllowed = treatment != MissingValueTreatmentMethod.RETURN_INVALID;
        return new FieldSpec(field.getName(), field.getDataType(), field.getOpType(), categories,
                intervals, missingAllowed);
    }

    /** A target field; a model without a declared target (clustering, outlier detection) gets
     * a synthetic one named {@link #SYNTHETIC_TARGET}. */
    static FieldSpec of(TargetField field) {
        List<?> categories = field.getOpType() != OpType.CONTINUOUS ? field.getCategories() : null;
        FieldSpec spec = new FieldSpec(field.getName(), field.getDataType(), field.getOpType(),
                categories != null ? categories : List.of(), List.of(), true);
        return field.isSynthetic() ? new FieldSpec(spec, SYNTHETIC_TARGET) : spec;
    }

    static FieldSpec of(OutputField field) {
        return new FieldSpec(field.getName(), field.getDataType(), field.getOpType(), List.of(),
                List.of(), true);
    }

    /** A field as the service's schema JSON describes it ({@code name}, {@code type}, {@code op_type}, ...). */
    static FieldSpec fromJson(Map<?, ?> json) {
        List<Interval> intervals = new ArrayList<>();
        for (Object item : listOf(json.get("intervals"))) {
            List<?> bounds = (List<?>) item;
            intervals.add(new Interval(number(bounds.get(0)), number(bounds.get(1)), Boolean.TRUE.equals(bounds.get(2)),
                    Boolean.TRUE.equals(bounds.get(3))));
        }
        FieldSpec spec = new FieldSpec((String) json.get("name"), DataType.fromValue((String) json.get("type")),
                OpType.fromValue((String) json.get("op_type")), listOf(json.get("categories")),
                intervals, !Boolean.FALSE.equals(json.get("missing_allowed")));
        return SYNTHETIC_TARGET.equals(spec.name) ? new FieldSpec(spec, SYNTHETIC_TARGET) : spec;
    }

    private static List<?> listOf(Object value) {
        return value instanceof List ? (List<?>) value : List.of();
    }

    private static Double number(Object value) {
        return value == null ? null : ((Number) value).doubleValue();
    }

    public String name() {
        return name;
    }

    /** True for the stand-in target of a model that declares none (its name is {@link #SYNTHETIC_TARGET}). */
    public boolean synthetic() {
        return synthetic;
    }

    /** PMML data type in PMML's spelling: {@code double}, {@code integer}, {@code string}, ... */
    public String dataType() {
        return dataType;
    }

    /** PMML operational type: {@code continuous}, {@code categorical} or {@code ordinal}. */
    public String opType() {
        return opType;
    }

    /** Valid values of a categorical or ordinal field (empty when any value is valid). */
    public List<Object> categories() {
        return categories;
    }

    /** Valid intervals of a continuous field (empty when any finite number is valid). */
    public List<Interval> intervals() {
        return intervals;
    }

    public boolean missingAllowed() {
        return missingAllowed;
    }

    /** True when values of this field are numbers ({@code double}, {@code float}, {@code integer}). */
    public boolean isNumeric() {
        return "double".equals(dataType) || "float".equals(dataType) || "integer".equals(dataType);
    }

    public boolean isContinuous() {
        return "continuous".equals(opType);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s(%s, %s)", name, dataType, opType);
    }

    /**
     * A numeric interval; a {@code null} bound is unbounded. Immutable and thread-safe.
     */
    public static final class Interval {
        private final Double left;
        private final Double right;
        private final boolean leftClosed;
        private final boolean rightClosed;

        Interval(Double left, Double right, boolean leftClosed, boolean rightClosed) {
            this.left = left;
            this.right = right;
            this.leftClosed = leftClosed;
            this.rightClosed = rightClosed;
        }

        static Interval of(Range<Double> range) {
            Double left = range.hasLowerBound() ? range.lowerEndpoint() : null;
            Double right = range.hasUpperBound() ? range.upperEndpoint() : null;
            boolean leftClosed = range.hasLowerBound() && range.lowerBoundType() == BoundType.CLOSED;
            boolean rightClosed = range.hasUpperBound() && range.upperBoundType() == BoundType.CLOSED;
            return new Interval(left, right, leftClosed, rightClosed);
        }

        public Double left() {
            return left;
        }

        public Double right() {
            return right;
        }

        public boolean leftClosed() {
            return leftClosed;
        }

        public boolean rightClosed() {
            return rightClosed;
        }

        /** Mathematical notation, such as {@code [18.0, 99.0]} or {@code (0.0, +inf)}. */
        @Override
        public String toString() {
            return (leftClosed ? "[" : "(") + (left != null ? left : "-inf") + ", "
                    + (right != null ? right : "+inf") + (rightClosed ? "]" : ")");
        }
    }
}
