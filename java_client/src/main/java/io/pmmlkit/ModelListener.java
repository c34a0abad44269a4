package io.pmmlkit;

/**
 * Told when a watching {@link StoreModels} swaps a model reference to another version, or cannot.
 * Called on the watcher thread; keep it short and do not throw. Both methods default to nothing.
 *
 * <pre>{@code
 * StoreModels models = StoreModels.builder(Path.of("pmml_models"))
 *         .watch(Duration.ofSeconds(5))
 *         .listener(new ModelListener() {
 *             public void swapped(String name, String ref, int from, int to) {
 *                 metrics.counter("model_swaps").increment();
 *             }
 *         })
 *         .build();
 * }</pre>
 */
public interface ModelListener {
    /**
     * {@code ref} ({@code null}: the default version; else an alias) now scores with version
     * {@code to} instead of {@code from}; the new version was loaded and verified first.
     */
    default void swapped(String name, String ref, int from, int to) {
    }

    /**
     * {@code ref} now points at {@code version} in the store, but that version cannot be served
     * (for example its checksum or verification rows fail); version {@code serving} keeps serving.
     * {@code version} is -1 when the store no longer resolves the reference at all (the model was
     * retired or the alias removed).
     */
    default void swapFailed(String name, String ref, int version, int serving, ScoringException error) {
    }
}
