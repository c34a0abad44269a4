package io.pmmlkit;

import java.util.List;

/**
 * Many models by name, embedded ({@link StoreModels}: a store directory read in this JVM) or
 * remote ({@link ServiceClient}: the pmmlkit service over HTTP), behind one interface so that a
 * caller switches between them by configuration. Thread-safe; close it when done.
 *
 * <pre>{@code
 * try (ModelCatalog models = StoreModels.builder(Path.of("pmml_models")).build()) {
 *     Predictor churn = models.predictor("churn", "production");
 *     System.out.println(churn.score(Map.of("age", 42)).values());
 * }
 * }</pre>
 */
public interface ModelCatalog extends AutoCloseable {
    /** Every model with at least one live version, sorted by name. */
    List<ModelInfo> list();

    /** The model's default version: its {@code production} alias, else its newest version. */
    default Predictor predictor(String name) {
        return predictor(name, null);
    }

    /**
     * A model by reference: {@code null} for the default version, digits for that version,
     * anything else for an alias. A reference to an alias or the default follows promotions
     * (for {@link StoreModels}, when it watches the store; the service follows them itself).
     *
     * @throws ModelLoadException with code {@code model_not_found}, {@code version_not_found} or
     *     {@code alias_not_found}
     */
    Predictor predictor(String name, String ref);

    /** Releases what the catalog holds (threads, loaded models, connections). */
    @Override
    void close();
}
