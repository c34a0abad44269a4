package io.pmmlkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Reads a store laid out exactly as scoring/store.py writes it (see pmml_models/README.md). */
public class ModelStoreTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private Path root;
    private byte[] pmml;

    @Before
    public void writeStore() throws Exception {
        root = folder.getRoot().toPath();
        pmml = TestStore.golden("forest");
        TestStore store = new TestStore(root);
        for (int version = 1; version <= 3; version++) {
            store.version("forest", version, pmml);
        }
        store.aliases("forest", Map.of("production", 2, "staging", 3));
        Files.createDirectories(root.resolve("forest/.archive/4"));
        Files.writeString(root.resolve("forest/.archive/4/model.json"), "{}");
        Files.createDirectories(root.resolve(".staging/abc"));
    }

    @Test
    public void listsModelsVersionsAndAliasesIgnoringArchiveAndStaging() {
        ModelStore store = ModelStore.open(root);
        assertEquals(List.of("forest"), store.names());
        assertEquals(List.of(1, 2, 3), store.versions("forest"));
        assertEquals(Map.of("production", 2, "staging", 3), store.aliases("forest"));
    }

    @Test
    public void resolvesProductionThenNewestThenNumbersAndAliases() throws Exception {
        ModelStore store = ModelStore.open(root);
        assertEquals(2, store.resolve("forest", null));
        assertEquals(3, store.resolve("forest", "staging"));
        assertEquals(1, store.resolve("forest", "1"));
        Files.delete(root.resolve("forest/aliases.json"));
        assertEquals(3, store.resolve("forest", null));
    }

    @Test
    public void loadsAScorerAfterCheckingItsChecksum() {
        Scorer scorer = ModelStore.open(root).scorer("forest", 2);
        assertEquals("forest v2", scorer.source());
        assertEquals("label", scorer.resultFields().get(0).name());
    }

    @Test
    public void refusesAFileThatDoesNotMatchItsCard() throws Exception {
        Files.write(root.resolve("forest/1/model.pmml"), (new String(pmml, StandardCharsets.UTF_8) + " ").getBytes(StandardCharsets.UTF_8));
        assertCode("checksum_mismatch", () -> ModelStore.open(root).scorer("forest", 1));
    }

    @Test
    public void unknownModelsVersionsAndAliasesAreNamed() {
        ModelStore store = ModelStore.open(root);
        assertCode("model_not_found", () -> store.resolve("churn", null));
        assertCode("version_not_found", () -> store.resolve("forest", "4"));
        assertCode("alias_not_found", () -> store.resolve("forest", "canary"));
        assertCode("version_not_found", () -> store.card("forest", 9));
    }

    @Test
    public void namesThatCouldEscapeTheStoreAreRefused() {
        ModelStore store = ModelStore.open(root);
        for (String name : new String[] {"..", "../forest", "a/b", "/etc", "", ".staging", "a..b"}) {
            assertCode("invalid_name", () -> store.versions(name));
        }
    }

    @Test
    public void aCardThatIsNotAJsonObjectIsAnInvalidStore() throws Exception {
        Files.writeString(root.resolve("forest/1/model.json"), "[1, 2");
        assertCode("invalid_store", () -> ModelStore.open(root).card("forest", 1));
        Files.writeString(root.resolve("forest/1/model.json"), "null");
        assertCode("invalid_store", () -> ModelStore.open(root).scorer("forest", 1));
    }

    @Test
    public void aMissingStoreIsRefused() {
        assertCode("invalid_store", () -> ModelStore.open(root.resolve("absent")));
    }

    private static void assertCode(String code, Runnable action) {
        try {
            action.run();
            fail("expected " + code);
        } catch (ScoringException e) {
            assertEquals(e.getMessage(), code, e.code());
            assertTrue(e.getMessage(), !e.getMessage().isEmpty());
        }
    }
}
