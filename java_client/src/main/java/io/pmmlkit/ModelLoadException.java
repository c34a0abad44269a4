package io.pmmlkit;

/**
 * A model that cannot be served: the file is missing, empty, not PMML, uses constructs the engine
 * does not support, fails its embedded verification, or does not match its card's checksum.
 * Codes: {@code model_not_found}, {@code invalid_pmml}, {@code unsupported_pmml},
 * {@code verification_failed}, {@code checksum_mismatch}, {@code invalid_store}.
 *
 * <pre>{@code
 * try {
 *     scorer = Scorer.load(Path.of("churn.pmml"));
 * } catch (ModelLoadException e) {
 *     log.error("cannot serve churn ({}): {}", e.code(), e.getMessage());
 * }
 * }</pre>
 */
public class ModelLoadException extends ScoringException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(String code, String message) {
        super(code, null, message);
    }

    public ModelLoadException(String code, String message, Throwable cause) {
        super(code, null, message, cause);
    }
}
