package io.pmmlkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A store with model "churn": version 1 is the golden forest, version 2 the golden regressor, so a
 * result shows which whole model made it. Records carry the fields of both.
 */
public class StoreModelsTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private TestStore store;
    private List<Map<String, Object>> records;
    private Map<Integer, List<Map<String, Object>>> expectedByVersion;

    @Before
    public void writeStore() throws Exception {
        store = new TestStore(folder.getRoot().toPath());
        store.version("churn", 1, TestStore.golden("forest")).version("churn", 2, TestStore.golden("regressor"))
                .aliases("churn", Map.of("production", 1));
        Scorer forest = Scorer.load(GoldenCase.named("forest").pmml());
        Scorer regressor = Scorer.load(GoldenCase.named("regressor").pmml());
        List<Map<String, Object>> forestRecords = GoldenCase.named("forest").records(forest);
        List<Map<String, Object>> regressorRecords = GoldenCase.named("regressor").records(regressor);
        records = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            Map<String, Object> record = new HashMap<>(forestRecords.get(i));
            record.putAll(regressorRecords.get(i));
            records.add(record);
        }
        expectedByVersion = Map.of(1, values(forest.scoreAll(records)), 2, values(regressor.scoreAll(records)));
    }

    @Test
    public void loadsAVersionOnlyWhenItFirstScores() {
        try (StoreModels models = StoreModels.builder(store.root).build()) {
            Predictor churn = models.predictor("churn");
            assertEquals(0, models.loadedCount());
            ScoreResult result = churn.score(records.get(0));
            assertEquals(1, result.version());
            assertEquals(expectedByVersion.get(1).get(0), result.values());
            assertEquals(1, models.loadedCount());
        }
    }

    @Test
    public void keepsAtMostMaxLoadedVersionsInMemory() throws Exception {
        store.version("churn", 3, TestStore.golden("forest"));
        try (StoreModels models = StoreModels.builder(store.root).maxLoaded(2).build()) {
            for (int round = 0; round < 2; round++) {
                for (int version = 1; version <= 3; version++) {
                    ScoreResult result = models.predictor("churn", Integer.toString(version)).score(records.get(0));
                    assertEquals(version, result.version());
                    assertTrue(models.loadedCount() <= 2);
                }
            }
            assertEquals(2, models.loadedCount());
        }
    }

    @Test
    public void aRefreshSwapsAPromotedVersionAndTellsTheListeners() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        try (StoreModels models = StoreModels.builder(store.root).listener(recorder(events)).build()) {
            Predictor production = models.predictor("churn", "production");
            Predictor pinned = models.predictor("churn", "1");
            assertEquals(1, production.score(records.get(0)).version());
            store.aliases("churn", Map.of("production", 2));
            assertEquals("without a watcher nothing moves until refresh()", 1, production.score(records.get(0)).version());
            models.refresh();
            assertEquals(2, production.score(records.get(0)).version());
            assertEquals(1, pinned.score(records.get(0)).version());
            assertEquals(List.of("swapped churn production 1->2"), events);
        }
    }

    @Test
    public void aVersionThatFailsToLoadLeavesTheOldOneServingAndSaysWhy() throws Exception {
        store.version("churn", 3, TestStore.golden("forest"), "0".repeat(64)).aliases("churn", Map.of("production", 3));
        store.aliases("churn", Map.of("production", 1));
        List<String> events = new CopyOnWriteArrayList<>();
        try (StoreModels models = StoreModels.builder(store.root).listener(recorder(events)).build()) {
            Predictor production = models.predictor("churn", "production");
            store.aliases("churn", Map.of("production", 3));
            models.refresh();
            models.refresh();
            assertEquals(1, production.score(records.get(0)).version());
            assertEquals("reported once, not on every check", List.of("failed churn production 3 (serving 1): checksum_mismatch"), events);
        }
    }

    @Test
    public void theWatcherFollowsPromotionsOnItsOwn() throws Exception {
        List<String> events = new CopyOnWriteArrayList<>();
        try (StoreModels models = StoreModels.builder(store.root).watch(Duration.ofMillis(20)).listener(recorder(events)).build()) {
            Predictor production = models.predictor("churn", "production");
            store.aliases("churn", Map.of("production", 2));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (events.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(List.of("swapped churn production 1->2"), events);
            assertEquals(2, production.score(records.get(0)).version());
        }
    }

    @Test
    public void manyThreadsScoreWhileVersionsArePromotedAndEveryResultComesFromOneWholeModel() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(6);
        AtomicBoolean promoting = new AtomicBoolean(true);
        try (StoreModels models = StoreModels.builder(store.root).watch(Duration.ofMillis(5)).build()) {
            Predictor production = models.predictor("churn");
            List<Future<Integer>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                workers.add(pool.submit(() -> {
                    int checked = 0;
                    while (promoting.get() || checked == 0) {
                        List<ScoreResult> results = production.scoreAll(records, checked % 2 == 1);
                        List<Map<String, Object>> expected = expectedByVersion.get(results.get(0).version());
                        for (int i = 0; i < results.size(); i++) {
                            assertEquals("one call, one version", results.get(0).version(), results.get(i).version());
                            assertEquals(expected.get(i), results.get(i).values());
                        }
                        ScoreResult one = production.score(records.get(checked % records.size()));
                        assertEquals(expectedByVersion.get(one.version()).get(checked % records.size()), one.values());
                        checked++;
                    }
                    return checked;
                }));
            }
            for (int flip = 0; flip < 20; flip++) {
                store.aliases("churn", Map.of("production", flip % 2 == 0 ? 2 : 1));
                Thread.sleep(25);
            }
            promoting.set(false);
            for (Future<Integer> worker : workers) {
                assertTrue(worker.get(120, TimeUnit.SECONDS) > 0);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    public void unknownModelsAndReferencesAreRefusedWhenAsked() {
        try (StoreModels models = StoreModels.builder(store.root).build()) {
            assertCode("model_not_found", () -> models.predictor("absent"));
            assertCode("version_not_found", () -> models.predictor("churn", "9"));
            assertCode("alias_not_found", () -> models.predictor("churn", "canary"));
            assertCode("invalid_name", () -> models.predictor("../churn"));
        }
    }

    @Test
    public void listsModelsWithTheirDefaultVersionAndCardLine() {
        try (StoreModels models = StoreModels.builder(store.root).build()) {
            ModelInfo churn = models.list().get(0);
            assertEquals("churn", churn.name());
            assertEquals(List.of(1, 2), churn.versions());
            assertEquals(Map.of("production", 1), churn.aliases());
            assertEquals(1, churn.defaultVersion());
            assertEquals("churn version 1", churn.description());
            assertEquals("test", churn.algorithm());
        }
    }

    @Test
    public void aBadRecordFailsInItsSlotWhenScoredInParallel() {
        try (StoreModels models = StoreModels.builder(store.root).build()) {
            List<Map<String, Object>> batch = new ArrayList<>(records);
            Map<String, Object> bad = new HashMap<>(records.get(50));
            bad.put("f1", "forty");
            batch.set(50, bad);
            List<ScoreResult> results = models.predictor("churn").scoreAll(batch, true);
            assertEquals(records.size(), results.size());
            assertEquals("invalid_type", results.get(50).errors().get(0).code());
            assertEquals("f1", results.get(50).errors().get(0).field());
            for (int i = 0; i < results.size(); i++) {
                if (i != 50) {
                    assertEquals(expectedByVersion.get(1).get(i), results.get(i).values());
                }
            }
        }
    }

    private static ModelListener recorder(List<String> events) {
        return new ModelListener() {
            @Override
            public void swapped(String name, String ref, int from, int to) {
                events.add("swapped " + name + " " + ref + " " + from + "->" + to);
            }

            @Override
            public void swapFailed(String name, String ref, int version, int serving, ScoringException error) {
                events.add("failed " + name + " " + ref + " " + version + " (serving " + serving + "): " + error.code());
            }
        };
    }

    private static List<Map<String, Object>> values(List<ScoreResult> results) {
        List<Map<String, Object>> values = new ArrayList<>();
        results.forEach(result -> values.add(result.values()));
        return values;
    }

    static void assertCode(String code, Runnable action) {
        try {
            action.run();
            fail("expected " + code);
        } catch (ScoringException e) {
            assertEquals(e.getMessage(), code, e.code());
            assertNotNull(e.getMessage());
        }
    }
}
