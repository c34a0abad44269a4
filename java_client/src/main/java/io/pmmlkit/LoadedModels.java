package io.pmmlkit;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The loaded versions of a {@link StoreModels}, least recently used first out past a bound.
 * A version is loaded once however many threads ask for it at the same time (they wait for the
 * one load); a failed load is not remembered, so the next call tries again. Thread-safe.
 */
final class LoadedModels {
    interface Loader {
        Scorer load(String name, int version);
    }

    private final int capacity;
    private final Loader loader;
    private final LinkedHashMap<Key, FutureTask<Scorer>> loaded = new LinkedHashMap<>(16, 0.75f, true);

    LoadedModels(int capacity, Loader loader) {
        this.capacity = capacity;
        this.loader = loader;
    }

    Scorer get(String name, int version) {
        Key key = new Key(name, version);
        FutureTask<Scorer> task;
        boolean mine = false;
        synchronized (loaded) {
            task = loaded.get(key);
            if (task == null) {
                task = new FutureTask<>(() -> loader.load(name, version));
                loaded.put(key, task);
                mine = true;
                evictPastCapacity();
            }
        }
        if (mine) {
            task.run();
        }
        return await(key, task);
    }

    /** How many versions are loaded or loading now. */
    int size() {
        synchronized (loaded) {
            return loaded.size();
        }
    }

    void clear() {
        synchronized (loaded) {
            loaded.clear();
        }
    }

    private Scorer await(Key key, FutureTask<Scorer> task) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            synchronized (loaded) {
                loaded.remove(key, task);
            }
            Throwable cause = e.getCause();
            throw cause instanceof RuntimeException ? (RuntimeException) cause : new IllegalStateException(cause);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void evictPastCapacity() {
        Iterator<Map.Entry<Key, FutureTask<Scorer>>> eldest = loaded.entrySet().iterator();
        while (loaded.size() > capacity && eldest.hasNext()) {
            eldest.next();
            eldest.remove();
        }
    }

    private static final class Key {
        final String name;
        final int version;

        Key(String name, int version) {
            this.name = name;
            this.version = version;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Key && ((Key) other).name.equals(name) && ((Key) other).version == version;
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, version);
        }
    }
}
