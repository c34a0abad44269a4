package io.pmmlkit;

/**
 * Whether and when {@link Scorer} compiles a tree model for the compiled tree evaluator.
 *
 * <pre>{@code
 * Scorer scorer = Scorer.load(pmml, "forest v3", true, CompileMode.BACKGROUND); // JPMML-Evaluator serves
 * scorer.awaitEngine(Duration.ofMinutes(1));                                   // "compiled: ..." once checked
 * }</pre>
 *
 * <p>Whatever the mode, a model that is not a tree model, or whose compiled form differs from
 * JPMML-Evaluator in the load-time check, is scored by JPMML-Evaluator; {@link Scorer#engine()}
 * says which engine scores and why.
 */
public enum CompileMode {
    /** Never compiled: JPMML-Evaluator scores the model. */
    OFF,
    /** Compiled and checked against JPMML-Evaluator before the load returns. */
    NOW,
    /**
     * The load returns once JPMML-Evaluator has parsed and verified the model, which serves at
     * once; compiling and the check run on a background thread (one model at a time per JVM), and
     * scoring switches to the compiled evaluator when the check passes.
     */
    BACKGROUND
}
