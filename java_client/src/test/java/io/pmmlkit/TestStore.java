package io.pmmlkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.stream.Collectors;

/** Writes a model store laid out exactly as scoring/store.py does (see pmml_models/README.md). */
final class TestStore {
    final Path root;

    TestStore(Path root) {
        this.root = root;
    }

    /** Publishes {@code pmml} as a version with a card that carries its sha256. */
    TestStore version(String name, int version, byte[] pmml) throws IOException {
        return version(name, version, pmml, ModelStore.sha256(pmml));
    }

    /** A version whose card claims {@code sha256} (a wrong one makes a version that cannot load). */
    TestStore version(String name, int version, byte[] pmml, String sha256) throws IOException {
        Path dir = Files.createDirectories(root.resolve(name).resolve(Integer.toString(version)));
        Files.write(dir.resolve("model.pmml"), pmml);
        Files.writeString(dir.resolve("model.json"), "{\"name\": \"" + name + "\", \"version\": " + version
                + ", \"description\": \"" + name + " version " + version + "\", \"algorithm\": {\"estimator\": \"test\"}"
                + ", \"pmml\": {\"file\": \"model.pmml\", \"sha256\": \"" + sha256 + "\", \"size_bytes\": " + pmml.length + "}}");
        return this;
    }

    /** Replaces aliases.json the way the store does: a new file renamed over the old one. */
    TestStore aliases(String name, Map<String, Integer> aliases) throws IOException {
        String json = aliases.entrySet().stream().map(e -> "\"" + e.getKey() + "\": " + e.getValue())
                .collect(Collectors.joining(", ", "{", "}"));
        Path partial = root.resolve(name).resolve(".aliases.json.partial");
        Files.writeString(partial, json);
        Files.move(partial, root.resolve(name).resolve("aliases.json"), StandardCopyOption.ATOMIC_MOVE);
        return this;
    }

    static byte[] golden(String name) throws IOException {
        return Files.readAllBytes(GoldenCase.named(name).pmml());
    }
}
