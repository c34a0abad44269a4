package io.pmmlkit;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the model store that the Python converter and service write
 * ({@code <root>/<name>/<version>/model.pmml[.gz]}, {@code model.json}, {@code <name>/aliases.json}).
 * Thread-safe: it holds only the root path and reads the files on every call.
 *
 * <pre>{@code
 * ModelStore store = ModelStore.open(Path.of("pmml_models"));
 * int version = store.resolve("churn", null);            // "production" alias, else the newest
 * Scorer scorer = store.scorer("churn", version);        // sha256 checked, verification rows run
 * }</pre>
 */
public final class ModelStore {
    /** The alias a reference of {@code null} resolves to, when the model has it. */
    public static final String DEFAULT_ALIAS = "production";


    private final Path root;

    private ModelStore(Path root) {
        this.root = root;
    }

    public static ModelStore open(Path root) {
        if (!Files.isDirectory(root)) {
            throw new ModelLoadException("invalid_store", "Model store '" + root + "' is not a directory.");
        }
        return new ModelStore(root.toAbsolutePath().normalize());
    }

    public Path root() {
        return root;
    }

    /** Names of the models that have at least one live version, sorted. */
    public List<String> names() {
        List<String> names = new ArrayList<>();
        for (Path dir : list(root)) {
            String name = dir.getFileName().toString();
            if (ModelNames.NAME.matcher(name).matches() && !versionsOf(dir).isEmpty()) {
                names.add(name);
            }
        }
        Collections.sort(names);
        return names;
    }

    /** Live (not archived) versions of a model, ascending. */
    public List<Integer> versions(String name) {
        return versionsOf(modelDir(name));
    }

    /** Alias to version, as written in {@code aliases.json}; empty when the model has none. */
    public Map<String, Integer> aliases(String name) {
        Path file = modelDir(name).resolve("aliases.json");
        Map<String, Integer> aliases = new TreeMap<>();
        if (Files.exists(file)) {
            readJson(file).forEach((alias, version) -> aliases.put(alias, ((Number) version).intValue()));
        }
        return aliases;
    }

    /**
     * Resolves a reference to a live version: {@code null} means the {@code production} alias, else
     * the newest version; digits mean that version; anything else is an alias.
     */
    public int resolve(String name, String ref) {
        List<Integer> versions = versions(name);
        if (versions.isEmpty()) {
            throw new ModelLoadException("model_not_found", "Model '" + name + "' has no versions in " + root + ".");
        }
        Integer version = ref == null ? aliases(name).get(DEFAULT_ALIAS) : lookup(name, ref);
        if (version == null) {
            return versions.get(versions.size() - 1);
        }
        if (!versions.contains(version)) {
            throw new ModelLoadException("version_not_found", "Model '" + name + "' has no live version "
                    + version + "; live versions: " + versions + ".");
        }
        return version;
    }

    /** The model card of one version, as parsed JSON. */
    public Map<String, Object> card(String name, int version) {
        return readJson(versionDir(name, version).resolve("model.json"));
    }

    /** Loads one version after checking its sha256 against the card; verification rows run too. */
    public Scorer scorer(String name, int version) {
        return scorer(name, version, true);
    }

    /**
     * {@link #scorer(String, int)}; with {@code compile} false a tree model is scored by
     * JPMML-Evaluator rather than the compiled evaluator.
     */
    public Scorer scorer(String name, int version, boolean compile) {
        Map<String, Object> pmml = pmmlEntry(name, version);
        Path file = versionDir(name, version).resolve(ModelNames.check("file", (String) pmml.get("file")));
        byte[] bytes = ModelLoader.read(file);
        String actual = sha256(bytes);
        if (!actual.equals(pmml.get("sha256"))) {
            throw new ModelLoadException("checksum_mismatch", "Model '" + name + "' version " + version
                    + ": " + file.getFileName() + " has sha256 " + actual + " but its card says "
                    + pmml.get("sha256") + "; refusing to serve it.");
        }
        return Scorer.load(bytes, name, version, compile);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> pmmlEntry(String name, int version) {
        Object entry = card(name, version).get("pmml");
        if (!(entry instanceof Map) || !(((Map<String, Object>) entry).get("file") instanceof String)) {
            throw new ModelLoadException("invalid_store", "Model '" + name + "' version " + version
                    + ": model.json has no pmml.file and pmml.sha256.");
        }
        return (Map<String, Object>) entry;
    }

    private Integer lookup(String name, String ref) {
        if (ModelNames.isVersion(ref)) {
            return Integer.valueOf(ref);
        }
        Integer version = aliases(name).get(ModelNames.check("alias", ref));
        if (version == null) {
            throw new ModelLoadException("alias_not_found", "Model '" + name + "' has no alias '" + ref
                    + "'; aliases: " + aliases(name).keySet() + ".");
        }
        return version;
    }

    private Path modelDir(String name) {
        return root.resolve(ModelNames.check("model name", name));
    }

    private Path versionDir(String name, int version) {
        Path dir = modelDir(name).resolve(Integer.toString(version));
        if (version < 1 || !Files.isDirectory(dir)) {
            throw new ModelLoadException("version_not_found", "Model '" + name + "' has no version " + version + ".");
        }
        return dir;
    }

    private static List<Integer> versionsOf(Path modelDir) {
        List<Integer> versions = new ArrayList<>();
        for (Path dir : list(modelDir)) {
            String entry = dir.getFileName().toString();
            if (ModelNames.isVersion(entry) && Files.exists(dir.resolve("model.json"))) {
                versions.add(Integer.valueOf(entry));
            }
        }
        Collections.sort(versions);
        return versions;
    }

    private static List<Path> list(Path dir) {
        List<Path> entries = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return entries;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, Files::isDirectory)) {
            stream.forEach(entries::add);
        } catch (IOException e) {
            throw new ModelLoadException("invalid_store", "Cannot list '" + dir + "': " + e.getMessage(), e);
        }
        return entries;
    }

    private static Map<String, Object> readJson(Path file) {
        try {
            return Json.read(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ModelLoadException("invalid_store", "Cannot read '" + file + "': "
                    + ModelLoader.describe(e), e);
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return String.format("%064x", new BigInteger(1, MessageDigest.getInstance("SHA-256").digest(bytes)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
