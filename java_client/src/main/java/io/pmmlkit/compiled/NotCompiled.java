package io.pmmlkit.compiled;

/**
 * Thrown while compiling when a model uses a construct the compiled evaluator does not implement,
 * or when the compiled evaluator disagrees with JPMML-Evaluator in the self-check. The message is
 * the reason shown in the model's description; the model is then served by JPMML-Evaluator.
 */
public final class NotCompiled extends Exception {
    private static final long serialVersionUID = 1L;

    public NotCompiled(String reason) {
        super(reason, null, false, false);
    }
}
