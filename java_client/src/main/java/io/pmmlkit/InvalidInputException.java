package io.pmmlkit;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A record that the model cannot score as given. Every problem of the record is reported at
 * once in {@link #errors()}; {@link #code()} and {@link #field()} are those of the first one.
 *
 * <pre>{@code
 * try {
 *     predictor.score(record);
 * } catch (InvalidInputException e) {
 *     return badRequest(e.errors());     // field, code and message of every problem
 * }
 * }</pre>
 */
public class InvalidInputException extends ScoringException {
    private static final long serialVersionUID = 1L;

    private final List<FieldError> errors;

    public InvalidInputException(List<FieldError> errors) {
        super(first(errors).code(), first(errors).field(), summary(errors));
        this.errors = List.copyOf(errors);
    }

    /** All problems of the record, in input-schema order; never empty. */
    public List<FieldError> errors() {
        return errors;
    }

    private static FieldError first(List<FieldError> errors) {
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("an InvalidInputException needs at least one error");
        }
        return errors.get(0);
    }

    private static String summary(List<FieldError> errors) {
        return errors.stream().map(FieldError::message).collect(Collectors.joining(" "));
    }
}
