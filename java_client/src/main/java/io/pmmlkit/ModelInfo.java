package io.pmmlkit;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One line of a model listing: the name, its live versions, its aliases, the version a request
 * without a version gets, and one line of its card. Immutable and thread-safe.
 *
 * <pre>{@code
 * for (ModelInfo model : catalog.list()) {
 *     System.out.println(model.name() + " v" + model.defaultVersion() + ": " + model.description());
 * }
 * }</pre>
 */
public final class ModelInfo {
    private final String name;
    private final List<Integer> versions;
    private final Map<String, Integer> aliases;
    private final int defaultVersion;
    private final String description;
    private final String algorithm;

    ModelInfo(String name, List<Integer> versions, Map<String, Integer> aliases, int defaultVersion,
            String description, String algorithm) {
        this.name = Objects.requireNonNull(name, "name");
        this.versions = List.copyOf(versions);
        this.aliases = java.util.Collections.unmodifiableMap(new TreeMap<>(aliases));
        this.defaultVersion = defaultVersion;
        this.description = description != null ? description : "";
        this.algorithm = algorithm;
    }

    public String name() {
        return name;
    }

    /** Live (not archived) versions, ascending. */
    public List<Integer> versions() {
        return versions;
    }

    /** Alias to version, sorted by alias. */
    public Map<String, Integer> aliases() {
        return aliases;
    }

    /** The version a request without a version gets: the {@code production} alias, else the newest. */
    public int defaultVersion() {
        return defaultVersion;
    }

    /** The card's one-line description; empty when it has none. */
    public String description() {
        return description;
    }

    /** The estimator the model was converted from (such as {@code sklearn.svm._classes.SVC}), or null. */
    public String algorithm() {
        return algorithm;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof ModelInfo)) {
            return false;
        }
        ModelInfo that = (ModelInfo) other;
        return name.equals(that.name) && versions.equals(that.versions) && aliases.equals(that.aliases)
                && defaultVersion == that.defaultVersion && description.equals(that.description)
                && Objects.equals(algorithm, that.algorithm);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, versions, aliases, defaultVersion);
    }

    @Override
    public String toString() {
        return name + " " + versions + " aliases=" + aliases + " default=" + defaultVersion;
    }
}
