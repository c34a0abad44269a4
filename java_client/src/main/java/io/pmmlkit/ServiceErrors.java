package io.pmmlkit;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns the service's error answers ({@code {"error": {"code", "message", "field", "errors"}}})
 * into the exceptions the embedded scorer throws for the same problem.
 */
final class ServiceErrors {
    /** The codes the embedded side reports as a {@link ModelLoadException}. */
    static final Set<String> LOAD_CODES = Set.of("model_not_found", "version_not_found", "alias_not_found",
            "model_not_ready", "invalid_pmml", "unsupported_pmml", "verification_failed", "checksum_mismatch",
            "invalid_store");

    private ServiceErrors() {
    }

    static ScoringException from(int status, byte[] body) {
        Map<String, Object> error = errorObject(body);
        if (error == null || !(error.get("code") instanceof String) || !(error.get("message") instanceof String)) {
            String text = new String(body, StandardCharsets.UTF_8).strip();
            return new ScoringException("http_" + status, null, "The service answered HTTP " + status
                    + " without a pmmlkit error body" + (text.isEmpty() ? "." : ": " + abbreviate(text)));
        }
        String code = (String) error.get("code");
        String message = (String) error.get("message");
        List<FieldError> errors = fieldErrors(error.get("errors"));
        if (LOAD_CODES.contains(code)) {
            return new ModelLoadException(code, message);
        }
        if (!errors.isEmpty()) {
            return new InvalidInputException(errors);
        }
        return new ScoringException(code, (String) error.get("field"), message);
    }

    /** One result slot's errors from the {@code errors} list of a batch answer (entries with an {@code index}). */
    static List<FieldError> fieldErrors(Object entries) {
        List<FieldError> errors = new ArrayList<>();
        if (entries instanceof List) {
            for (Object entry : (List<?>) entries) {
                Map<?, ?> item = (Map<?, ?>) entry;
                errors.add(new FieldError((String) item.get("field"), (String) item.get("code"), (String) item.get("message")));
            }
        }
        return errors;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> errorObject(byte[] body) {
        try {
            Object error = Json.read(body).get("error");
            return error instanceof Map ? (Map<String, Object>) error : null;
        } catch (java.io.IOException e) {
            return null;
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= 200 ? text : text.substring(0, 200) + "...";
    }
}
