package io.pmmlkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.pmmlkit.compiled.NotCompiled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import org.junit.Test;

/**
 * {@link CompileMode}: a model loaded with {@code BACKGROUND} serves with JPMML-Evaluator at once
 * and switches to the compiled evaluator when its check passes. Deterministic: a gate holds the
 * one background thread while the test looks at the model before the switch.
 */
public class BackgroundCompileTest {
    private static final Duration WAIT = Duration.ofMinutes(2);

    @Test
    public void backgroundModeServesWithJpmmlFirstThenSwitchesToCompiledWithTheSameResults() throws Exception {
        GoldenCase golden = GoldenCase.named("forest");
        CountDownLatch gate = new CountDownLatch(1);
        EngineSwitch blocker = holdTheBackgroundThread(gate);
        Scorer scorer = Scorer.load(Files.readAllBytes(golden.pmml()), "forest", true, CompileMode.BACKGROUND);
        List<Map<String, Object>> records = golden.records(scorer);

        assertEquals("jpmml: compiling and checking in the background", scorer.engine());
        assertFalse(scorer.isCompiled());
        assertEquals(scorer.engine(), scorer.awaitEngine(Duration.ofMillis(50)));
        List<ScoreResult> before = scorer.scoreAll(records);
        ColumnBatch columnsBefore = scoreColumns(scorer, records);

        gate.countDown();
        blocker.await(WAIT);
        String engine = scorer.awaitEngine(WAIT);
        assertTrue(engine, engine.matches("compiled: 20 trees; equal to JPMML-Evaluator on \\d+ check rows reaching \\d+ of \\d+ leaves"));
        assertTrue(scorer.isCompiled());
        List<ScoreResult> after = scorer.scoreAll(records);
        ColumnBatch columnsAfter = scoreColumns(scorer, records);

        assertEquals(List.of(), golden.conflicts(before));
        assertEquals(List.of(), conflicts(before, after));
        for (int f = 0; f < columnsBefore.fields().size(); f++) {
            assertEquals(columnsBefore.names()[f], cells(columnsBefore, f), cells(columnsAfter, f));
        }
    }

    @Test
    public void aModelThatCannotBeCompiledEndsOnJpmmlWithTheReasonInBackgroundModeToo() throws Exception {
        String text = Files.readString(GoldenCase.named("regressor").pmml());
        byte[] pmml = text.replace("multipleModelMethod=\"sum\"", "multipleModelMethod=\"median\"")
                .replaceAll("(?s)<ModelVerification.*</ModelVerification>", "").getBytes(StandardCharsets.UTF_8);
        Scorer scorer = Scorer.load(pmml, "median-of-trees", true, CompileMode.BACKGROUND);
        Map<String, Object> record = Map.of("x1", 0.5, "x2", 0.25, "x3", 0.75, "x4", 0.125, "x5", 1.0);
        Object before = scorer.score(record).get("response");

        assertEquals("jpmml: multipleModelMethod median is not compiled for regression", scorer.awaitEngine(WAIT));
        assertFalse(scorer.isCompiled());
        assertEquals(before, scorer.score(record).get("response"));
    }

    @Test
    public void aFailureInTheBackgroundLeavesJpmmlServingWithTheReason() throws Exception {
        EngineSwitch failed = EngineSwitch.start(CompileMode.BACKGROUND, "broken", () -> {
            throw new OutOfMemoryError("Java heap space");
        });
        assertEquals("jpmml: compiling in the background failed (OutOfMemoryError: Java heap space)", failed.await(WAIT));
        assertEquals(null, failed.compiled());
    }

    @Test
    public void offModeNeverCompiles() throws Exception {
        Scorer off = Scorer.load(GoldenCase.named("forest").pmml(), CompileMode.OFF);
        assertEquals("jpmml: compiled evaluation turned off for this model", off.awaitEngine(Duration.ZERO));
        // Everything queued before this background compile has run once it is done.
        Scorer.load(GoldenCase.named("forest").pmml(), CompileMode.BACKGROUND).awaitEngine(WAIT);
        assertEquals("jpmml: compiled evaluation turned off for this model", off.engine());
        assertFalse(off.isCompiled());
    }

    @Test
    public void nowModeIsCompiledWhenTheLoadReturns() throws Exception {
        Scorer now = Scorer.load(GoldenCase.named("forest").pmml(), CompileMode.NOW);
        assertTrue(now.engine(), now.isCompiled());
        assertEquals(now.engine(), now.awaitEngine(Duration.ZERO));
    }

    /** Queues a background compile that waits for {@code gate}: later ones wait behind it. */
    private static EngineSwitch holdTheBackgroundThread(CountDownLatch gate) {
        return EngineSwitch.start(CompileMode.BACKGROUND, "gate", () -> {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new NotCompiled("a gate, not a model");
        });
    }

    private static ColumnBatch scoreColumns(Scorer scorer, List<Map<String, Object>> records) {
        String[] names = scorer.inputFields().stream().map(FieldSpec::name).toArray(String[]::new);
        return scorer.scoreColumns(names, GoldenCase.columns(records, names));
    }

    /** One result column as a list: numbers boxed (compared bit for bit), codes as their text. */
    private static List<Object> cells(ColumnBatch batch, int f) {
        Object column = batch.column(f);
        if (column instanceof double[]) {
            return Arrays.stream((double[]) column).boxed().collect(Collectors.toList());
        }
        return List.of((Object[]) ((CodedStrings) column).toArray());
    }

    /** Rows whose results differ between the two lists (values compared exactly), printed. */
    private static List<String> conflicts(List<ScoreResult> want, List<ScoreResult> got) {
        assertEquals(want.size(), got.size());
        List<String> conflicts = new ArrayList<>();
        for (int row = 0; row < want.size(); row++) {
            if (!want.get(row).toString().equals(got.get(row).toString())) {
                conflicts.add("row " + row + ": JPMML " + want.get(row) + " compiled " + got.get(row));
            }
        }
        conflicts.stream().limit(20).forEach(System.out::println);
        return conflicts;
    }
}
