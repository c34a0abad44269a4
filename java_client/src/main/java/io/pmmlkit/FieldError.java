package io.pmmlkit;

import java.util.Objects;

/**
 * One problem with one input field of one record: the field, a stable code
 * ({@code missing_field}, {@code invalid_type}, {@code invalid_value}, {@code out_of_range},
 * {@code evaluation_failed}) and a message that names the field, the rule and the value received.
 * Immutable and thread-safe.
 *
 * <pre>{@code
 * for (FieldError error : result.errors()) {
 *     form.markInvalid(error.field(), error.message());   // "Field 'age' must be a number; got 'x'."
 * }
 * }</pre>
 */
public final class FieldError {
    private final String field;
    private final String code;
    private final String message;

    public FieldError(String field, String code, String message) {
        this.field = field;
        this.code = Objects.requireNonNull(code, "code");
        this.message = Objects.requireNonNull(message, "message");
    }

    /** The input field at fault, or {@code null} for a failure of the whole record. */
    public String field() {
        return field;
    }

    public String code() {
        return code;
    }

    public String message() {
        return message;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof FieldError)) {
            return false;
        }
        FieldError that = (FieldError) other;
        return Objects.equals(field, that.field) && code.equals(that.code) && message.equals(that.message);
    }

    @Override
    public int hashCode() {
        return Objects.hash(field, code, message);
    }

    @Override
    public String toString() {
        return code + (field != null ? "[" + field + "]" : "") + ": " + message;
    }
}
