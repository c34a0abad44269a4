package io.pmmlkit;

/**
 * The one unchecked exception family of pmmlkit: every failure carries a stable snake_case
 * {@link #code()} and, when one field is to blame, that {@link #field()}.
 *
 * <pre>{@code
 * try {
 *     scorer.score(record);
 * } catch (InvalidInputException e) {
 *     e.errors().forEach(err -> log.warn("{}: {}", err.field(), err.message()));
 * } catch (ScoringException e) {
 *     log.error("{}: {}", e.code(), e.getMessage());
 * }
 * }</pre>
 *
 * <p>Messages say the thing, the rule and what was received; they never carry Java class names.
 */
public class ScoringException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String code;
    private final String field;

    public ScoringException(String code, String field, String message) {
        this(code, field, message, null);
    }

    public ScoringException(String code, String field, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.field = field;
    }

    /** Stable snake_case error code, such as {@code missing_field} or {@code model_not_found}. */
    public String code() {
        return code;
    }

    /** The field to blame, or {@code null} when the error is not about one field. */
    public String field() {
        return field;
    }
}
