package io.pmmlkit;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.dmg.pmml.DataField;
import org.dmg.pmml.DataType;
import org.dmg.pmml.OpType;
import org.dmg.pmml.OutlierTreatmentMethod;
import org.jpmml.evaluator.EvaluationException;
import org.jpmml.evaluator.FieldValue;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.TypeCheckException;
import org.jpmml.evaluator.ValueCheckException;

/**
 * Checks and converts one raw input value for one field, turning every problem into a
 * {@link FieldError} with a stable code instead of an engine exception. Thread-safe.
 */
final class InputPreparer {
    private static final int MAX_LISTED_CATEGORIES = 10;
    private static final Object NO_VALUE = new Object();

    private final InputField field;
    private final FieldSpec spec;
    // The spec's type tests, answered once: they run for every field of every record.
    private final boolean numeric;
    private final boolean integer;
    private final boolean text;
    private final boolean logical;
    private final boolean plainNumbers;
    private final boolean floats;

    InputPreparer(InputField field) {
        this.field = field;
        this.spec = FieldSpec.of(field);
        this.numeric = spec.isNumeric();
        this.integer = "integer".equals(spec.dataType());
        this.text = "string".equals(spec.dataType());
        this.logical = "boolean".equals(spec.dataType());
        this.plainNumbers = takesPlainNumbers(field);
        this.floats = field.getDataType() == DataType.FLOAT;
    }

    FieldSpec spec() {
        return spec;
    }

    /**
     * True when JPMML-Evaluator prepares every finite number of this field as just that number in
     * the field's type: a continuous double or float field whose DataField lists no values and no
     * intervals (so every number is valid) and whose MiningField keeps outliers as they are. Such
     * a field's finite values can skip {@link #prepare} for {@link #plainValue}.
     */
    boolean takesPlainNumbers() {
        return plainNumbers;
    }

    /**
     * The number {@code prepare(value).getValue()} holds, without the objects, for a finite
     * {@code value} of a field that {@link #takesPlainNumbers}: a float field's value is the
     * nearest float; a negative zero becomes positive, as JPMML-Evaluator's casts make it.
     */
    double plainValue(double value) {
        double typed = floats ? (float) value : value;
        return typed == 0 ? 0.0 : typed;
    }

    private static boolean takesPlainNumbers(InputField field) {
        DataType type = field.getDataType();
        if ((type != DataType.DOUBLE && type != DataType.FLOAT) || field.getOpType() != OpType.CONTINUOUS
                || !(field.getField() instanceof DataField)) {
            return false;
        }
        DataField data = (DataField) field.getField();
        OutlierTreatmentMethod outliers = field.getMiningField().getOutlierTreatment();
        return !data.hasValues() && !data.hasIntervals() && outliers == OutlierTreatmentMethod.AS_IS;
    }

    /**
     * Returns the engine value of {@code raw} ({@code null} means missing), or {@code null} after
     * adding the reason to {@code errors}.
     */
    FieldValue prepare(Object raw, List<FieldError> errors) {
        if (raw == null && !spec.missingAllowed()) {
            errors.add(error("missing_field", "is required", NO_VALUE));
            return null;
        }
        FieldError typeError = raw == null ? null : checkType(raw);
        if (typeError != null) {
            errors.add(typeError);
            return null;
        }
        try {
            return field.prepare(coerce(raw));
        } catch (ValueCheckException e) {
            errors.add(spec.isContinuous() ? outOfRange(raw) : unknownCategory(raw));
        } catch (TypeCheckException e) {
            errors.add(error("invalid_type", "must be " + expected(), raw));
        } catch (EvaluationException e) {
            errors.add(error("invalid_value", "is invalid (" + e.getMessage() + ")", raw));
        }
        return null;
    }

    private FieldError checkType(Object raw) {
        if (numeric) {
            if (!(raw instanceof Number)) {
                return error("invalid_type", "must be " + expected(), raw);
            }
            double value = ((Number) raw).doubleValue();
            if (Double.isNaN(value) || Double.isInfinite(value)) {
                return error("invalid_value", "must be a finite number", raw);
            }
            if (integer && value != Math.rint(value)) {
                return error("invalid_type", "must be an integer", raw);
            }
            return null;
        }
        if (text && !(raw instanceof String)) {
            return error("invalid_type", "must be a string", raw);
        }
        if (logical && !(raw instanceof Boolean)) {
            return error("invalid_type", "must be true or false", raw);
        }
        return null;
    }

    private Object coerce(Object raw) {
        if (integer && raw instanceof Number) {
            return ((Number) raw).longValue();
        }
        return raw;
    }

    private FieldError outOfRange(Object raw) {
        String ranges = spec.intervals().stream().map(Object::toString).collect(Collectors.joining(" or "));
        return error("out_of_range", "must be within " + ranges, raw);
    }

    private FieldError unknownCategory(Object raw) {
        List<Object> categories = spec.categories();
        String listed = categories.stream().limit(MAX_LISTED_CATEGORIES).map(InputPreparer::show)
                .collect(Collectors.joining(", "));
        if (categories.size() > MAX_LISTED_CATEGORIES) {
            listed += ", ... (" + categories.size() + " in all)";
        }
        return error("invalid_value", "must be one of " + listed, raw);
    }

    private String expected() {
        return "integer".equals(spec.dataType()) ? "an integer" : spec.isNumeric() ? "a number" : "a " + spec.dataType();
    }

    /** Builds "Field 'age' must be a number; got 'forty'." from its parts. */
    private FieldError error(String code, String rule, Object raw) {
        String got = raw == NO_VALUE ? "no value" : show(raw);
        return new FieldError(spec.name(), code, "Field '" + spec.name() + "' " + rule + "; got " + got + ".");
    }

    /** A value as a message shows it: quoted text, plain numbers, JSON's names for containers. */
    static String show(Object value) {
        if (value instanceof String) {
            return "'" + value + "'";
        }
        if (value instanceof java.util.Collection || (value != null && value.getClass().isArray())) {
            return "a list";
        }
        if (value instanceof Map) {
            return "an object";
        }
        return String.valueOf(value);
    }
}
