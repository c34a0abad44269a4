package io.pmmlkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models of a store directory, scored in this JVM. Versions load lazily on first use (sha256
 * checked against the card, verification rows run) and at most {@code maxLoaded} stay in memory,
 * least recently used out first. With {@link Builder#watch(Duration)} a watcher thread follows
 * promotions: a predictor for an alias or the default version swaps to the newly promoted version
 * once that version has loaded, while callers keep scoring; a version that fails to load leaves
 * the old one serving and {@link ModelListener#swapFailed} says why. Thread-safe.
 *
 * <pre>{@code
 * try (StoreModels models = StoreModels.builder(Path.of("pmml_models"))
 *         .maxLoaded(50)
 *         .watch(Duration.ofSeconds(5))
 *         .build()) {
 *     Predictor churn = models.predictor("churn");      // follows the production alias
 *     ScoreResult result = churn.score(Map.of("age", 42, "plan", "gold"));
 *     System.out.println(result.version() + " " + result.values());
 * }
 * }</pre>
 */
public final class StoreModels implements ModelCatalog {
    private static final Logger LOG = LoggerFactory.getLogger(StoreModels.class);

    private final ModelStore store;
    private final LoadedModels loaded;
    private final List<ModelListener> listeners;
    private final Map<Binding, Integer> bindings = new ConcurrentHashMap<>();
    private final Map<Binding, Integer> failedSwaps = new ConcurrentHashMap<>();
    private final ScheduledExecutorService watcher;

    private StoreModels(Builder builder) {
        this.store = ModelStore.open(builder.root);
        this.loaded = new LoadedModels(builder.maxLoaded, store::scorer);
        this.listeners = List.copyOf(builder.listeners);
        if (builder.watch.isZero()) {
            this.watcher = null;
        } else {
            this.watcher = Executors.newSingleThreadScheduledExecutor(task -> {
                Thread thread = new Thread(task, "pmmlkit-store-watcher");
                thread.setDaemon(true);
                return thread;
            });
            long millis = builder.watch.toMillis();
            watcher.scheduleWithFixedDelay(this::refreshQuietly, millis, millis, TimeUnit.MILLISECONDS);
        }
    }

    public static Builder builder(Path root) {
        return new Builder(root);
    }

    /** The store this catalog reads. */
    public ModelStore store() {
        return store;
    }

    @Override
    public List<ModelInfo> list() {
        List<ModelInfo> models = new ArrayList<>();
        for (String name : store.names()) {
            int version = store.resolve(name, null);
            Map<String, Object> card = store.card(name, version);
            Object algorithm = card.get("algorithm") instanceof Map ? ((Map<?, ?>) card.get("algorithm")).get("estimator") : null;
            models.add(new ModelInfo(name, store.versions(name), store.aliases(name), version,
                    (String) card.get("description"), (String) algorithm));
        }
        return models;
    }

    /** Resolves the reference now; the version itself loads on first use. */
    @Override
    public Predictor predictor(String name, String ref) {
        Binding binding = new Binding(name, ref);
        bindings.computeIfAbsent(binding, b -> store.resolve(name, ref));
        return new StorePredictor(this, binding);
    }

    /**
     * Checks the store now for promotions of every reference handed out (what the watcher does
     * on its schedule); swaps those whose new version loads, reports the others to the listeners.
     */
    public void refresh() {
        for (Binding binding : bindings.keySet()) {
            if (!binding.pinned()) {
                follow(binding);
            }
        }
    }

    /** How many versions are in memory now (at most the builder's {@code maxLoaded}). */
    public int loadedCount() {
        return loaded.size();
    }

    @Override
    public void close() {
        if (watcher != null) {
            watcher.shutdownNow();
        }
        loaded.clear();
    }

    /** The scorer serving a reference now, loading it when it is not in memory. */
    Scorer current(Binding binding) {
        return loaded.get(binding.name, bindings.get(binding));
    }

    private void follow(Binding binding) {
        int serving = bindings.get(binding);
        int wanted;
        try {
            wanted = store.resolve(binding.name, binding.ref);
        } catch (ScoringException e) {
            reportFailure(binding, -1, serving, e);
            return;
        }
        if (wanted == serving) {
            failedSwaps.remove(binding);
            return;
        }
        try {
            loaded.get(binding.name, wanted);
        } catch (ScoringException e) {
            reportFailure(binding, wanted, serving, e);
            return;
        }
        bindings.put(binding, wanted);
        failedSwaps.remove(binding);
        LOG.info("Model '{}' {} now scores with version {} (was {}).", binding.name, binding.describe(), wanted, serving);
        listeners.forEach(listener -> listener.swapped(binding.name, binding.ref, serving, wanted));
    }

    /** {@code wanted} is -1 when the store no longer resolves the reference at all (model retired). */
    private void reportFailure(Binding binding, int wanted, int serving, ScoringException error) {
        if (Objects.equals(failedSwaps.put(binding, wanted), wanted)) {
            return;
        }
        LOG.warn("Model '{}' {}: {} cannot be served, version {} keeps serving: {}", binding.name, binding.describe(),
                wanted > 0 ? "version " + wanted : "what the store names now", serving, error.getMessage());
        listeners.forEach(listener -> listener.swapFailed(binding.name, binding.ref, wanted, serving, error));
    }

    private void refreshQuietly() {
        try {
            refresh();
        } catch (RuntimeException e) {
            LOG.warn("Checking the model store failed; the models in memory keep serving: {}", e.getMessage());
        }
    }

    /** A model name and a reference to one of its versions ({@code null}: the default). */
    static final class Binding {
        final String name;
        final String ref;

        Binding(String name, String ref) {
            this.name = ModelNames.check("model name", name);
            this.ref = ref;
        }

        boolean pinned() {
            return ModelNames.isVersion(ref);
        }

        String describe() {
            return ref == null ? "(default version)" : pinned() ? "version " + ref : "alias '" + ref + "'";
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Binding && ((Binding) other).name.equals(name) && Objects.equals(((Binding) other).ref, ref);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, ref);
        }
    }

    /** Builds a {@link StoreModels}; not thread-safe, the catalog it builds is. */
    public static final class Builder {
        private final Path root;
        private int maxLoaded = 16;
        private Duration watch = Duration.ZERO;
        private final List<ModelListener> listeners = new ArrayList<>();

        private Builder(Path root) {
            this.root = Objects.requireNonNull(root, "root");
        }

        /** How many versions may stay in memory at once (default 16); the least recently used goes first. */
        public Builder maxLoaded(int maxLoaded) {
            if (maxLoaded < 1) {
                throw new IllegalArgumentException("maxLoaded must be at least 1; got " + maxLoaded + ".");
            }
            this.maxLoaded = maxLoaded;
            return this;
        }

        /** Checks the store for promotions this often on a daemon thread; {@link Duration#ZERO} (default): never. */
        public Builder watch(Duration interval) {
            if (interval.isNegative()) {
                throw new IllegalArgumentException("The watch interval must not be negative; got " + interval + ".");
            }
            this.watch = interval;
            return this;
        }

        public Builder listener(ModelListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** @throws ModelLoadException with code {@code invalid_store} when the root is not a directory */
        public StoreModels build() {
            return new StoreModels(this);
        }
    }
}
