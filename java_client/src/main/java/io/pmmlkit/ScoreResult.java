package io.pmmlkit;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The outcome of scoring one record: either the values of the model's result fields (target and
 * output fields, in the model's order, named as in the PMML) or the record's problems.
 * Immutable and thread-safe.
 *
 * <pre>{@code
 * ScoreResult result = scorer.score(Map.of("age", 42, "color", "red"));
 * Object label = result.get("y");
 * double p = (Double) result.get("probability(1)");
 * }</pre>
 */
public final class ScoreResult {
    private final Map<String, Object> values;
    private final List<FieldError> errors;
    private final int version;

    private ScoreResult(Map<String, Object> values, List<FieldError> errors, int version) {
        this.values = values;
        this.errors = errors;
        this.version = version;
    }

    /** Takes {@code values} over (no copy): the caller hands in a map nobody else holds. */
    static ScoreResult ok(Map<String, Object> values, int version) {
        return new ScoreResult(Collections.unmodifiableMap(values), List.of(), version);
    }

    static ScoreResult failed(List<FieldError> errors, int version) {
        return new ScoreResult(Map.of(), List.copyOf(errors), version);
    }

    /**
     * The store version of the model that produced this result (embedded or over HTTP); 0 when
     * the model was loaded from a file rather than a store.
     */
    public int version() {
        return version;
    }

    /** True when the record scored; false when {@link #errors()} says why not. */
    public boolean isOk() {
        return errors.isEmpty();
    }

    /** Result field name to value ({@code Double}, {@code String}, {@code Integer}, or null). */
    public Map<String, Object> values() {
        return values;
    }

    public Object get(String field) {
        return values.get(field);
    }

    /** Every problem of the record; empty when it scored. */
    public List<FieldError> errors() {
        return errors;
    }

    /** The values, or an {@link InvalidInputException} carrying every problem of the record. */
    public Map<String, Object> valuesOrThrow() {
        if (!isOk()) {
            throw new InvalidInputException(errors);
        }
        return values;
    }

    @Override
    public String toString() {
        return isOk() ? values.toString() : errors.toString();
    }
}
