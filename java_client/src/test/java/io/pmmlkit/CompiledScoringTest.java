package io.pmmlkit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.Test;

/** The compiled tree evaluator against JPMML-Evaluator itself, on real converter output. */
public class CompiledScoringTest {
    private static final List<String> TREE_CASES = List.of("forest", "regressor", "boosting_mixed");

    @Test
    public void treeModelsOfTheGoldenCasesAreCompiledAndSaySo() throws Exception {
        for (String name : TREE_CASES) {
            Scorer scorer = Scorer.load(GoldenCase.named(name).pmml());
            assertTrue(name + ": " + scorer.engine(), scorer.isCompiled());
            assertTrue(scorer.engine(), scorer.engine().matches("compiled: \\d+ trees; equal to JPMML-Evaluator on \\d+ check rows reaching \\d+ of \\d+ leaves"));
        }
        Scorer linear = Scorer.load(GoldenCase.named("logistic_mixed").pmml());
        assertFalse(linear.isCompiled());
        assertEquals("jpmml: no tree model to compile (RegressionModel)", linear.engine());
    }

    @Test
    public void compiledEqualsJpmmlOnEveryGoldenRow() throws Exception {
        for (String name : TREE_CASES) {
            GoldenCase golden = GoldenCase.named(name);
            Scorer compiled = Scorer.load(golden.pmml());
            Scorer interpreted = Scorer.load(golden.pmml(), false);
            List<Map<String, Object>> records = golden.records(compiled);
            assertSame(name, interpreted.scoreAll(records), compiled.scoreAll(records));
            for (Map<String, Object> record : records.subList(0, 20)) {
                assertEquals(name, interpreted.score(record).values(), compiled.score(record).values());
            }
        }
    }

    @Test
    public void compiledEqualsJpmmlOnRandomInputsWithMissingValuesUnseenCategoriesAndBadTypes() throws Exception {
        Random random = new Random(7);
        for (String name : TREE_CASES) {
            GoldenCase golden = GoldenCase.named(name);
            Scorer compiled = Scorer.load(golden.pmml());
            Scorer interpreted = Scorer.load(golden.pmml(), false);
            List<Map<String, Object>> records = new ArrayList<>();
            for (int r = 0; r < 5000; r++) {
                records.add(randomRecord(compiled, random));
            }
            List<ScoreResult> want = interpreted.scoreAll(records);
            assertSame(name, want, compiled.scoreAll(records));
            long failed = want.stream().filter(result -> !result.isOk()).count();
            assertTrue(name + ": some random records must be refused, some scored: " + failed, failed > 0 && failed < 5000);
        }
    }

    @Test
    public void columnBatchesOfTheCompiledEvaluatorEqualJpmmlsArrays() throws Exception {
        for (String name : TREE_CASES) {
            GoldenCase golden = GoldenCase.named(name);
            Scorer compiled = Scorer.load(golden.pmml());
            Scorer interpreted = Scorer.load(golden.pmml(), false);
            List<Map<String, Object>> records = goldenAndGenerated(golden, compiled, 11, CompiledScoringTest::randomRecord);
            String[] names = compiled.inputFields().stream().map(FieldSpec::name).toArray(String[]::new);
            Object[] columns = GoldenCase.columns(records, names);
            ColumnBatch want = interpreted.scoreColumns(names, columns);
            assertSameBatch(name, want, compiled.scoreColumns(names, columns));
        }
    }

    @Test
    public void typedColumnsTakeTheShortPathsAndScoreAsJpmmlDoes() throws Exception {
        for (String name : TREE_CASES) {
            GoldenCase golden = GoldenCase.named(name);
            Scorer compiled = Scorer.load(golden.pmml());
            Scorer interpreted = Scorer.load(golden.pmml(), false);
            List<Map<String, Object>> records = goldenAndGenerated(golden, compiled, 13, CompiledScoringTest::typedRecord);
            String[] names = compiled.inputFields().stream().map(FieldSpec::name).toArray(String[]::new);
            Object[] typed = new Object[names.length];
            for (int c = 0; c < names.length; c++) {
                String[] text = new String[records.size()];
                double[] numbers = new double[records.size()];
                boolean numeric = compiled.inputFields().get(c).isNumeric();
                for (int r = 0; r < records.size(); r++) {
                    Object value = records.get(r).get(names[c]);
                    if (numeric) {
                        numbers[r] = value == null ? Double.NaN : (Double) value;
                    } else {
                        text[r] = (String) value;
                    }
                }
                typed[c] = numeric ? numbers : coded(text);
            }
            // JPMML-Evaluator given the same values one object each is the reference.
            ColumnBatch want = interpreted.scoreColumns(names, GoldenCase.columns(records, names));
            ColumnBatch got = compiled.scoreColumns(names, typed);
            assertSameBatch(name, want, got);
            assertTrue(name + ": some rows must fail (infinite numbers, unseen categories)", got.errorRows().length > 0);
        }
    }

    @Test
    public void aPlainNumberIsTheValueJpmmlPreparesToTheBit() throws Exception {
        double[] values = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 0.1, 1e-300, -1e-300, Double.MIN_VALUE, -Double.MIN_VALUE,
            1e-45, -1e-46, Float.MIN_VALUE, 3.4028235677973366e38, 1e39, -1e39, Double.MAX_VALUE, 16777217.0,
            0.30000001192092896, 0.3000000119209290, Math.nextUp(0.3f), Math.nextDown((double) 0.3f)};
        int plain = 0;
        for (String name : List.of("forest", "regressor", "boosting_mixed", "logistic_mixed", "multiclass")) {
            byte[] pmml = Files.readAllBytes(GoldenCase.named(name).pmml());
            for (org.jpmml.evaluator.InputField field : ModelLoader.load(pmml, name, false).getInputFields()) {
                InputPreparer preparer = new InputPreparer(field);
                if (!preparer.takesPlainNumbers()) {
                    continue;
                }
                plain++;
                Random random = new Random(field.getName().hashCode());
                for (int i = 0; i < values.length + 2000; i++) {
                    double value = i < values.length ? values[i] : Double.longBitsToDouble(random.nextLong());
                    if (!Double.isFinite(value)) {
                        continue;
                    }
                    List<FieldError> errors = new ArrayList<>();
                    Object prepared = preparer.prepare(value, errors).getValue();
                    assertTrue(errors.isEmpty());
                    assertEquals(name + " " + field.getName() + " " + value,
                            Double.doubleToRawLongBits(((Number) prepared).doubleValue()),
                            Double.doubleToRawLongBits(preparer.plainValue(value)));
                }
            }
        }
        assertTrue("the golden cases have plain number fields: " + plain, plain >= 10);
    }

    @Test
    public void aModelWithAConstructTheCompilerLacksIsServedByJpmmlAndSaysWhy() throws Exception {
        String text = Files.readString(GoldenCase.named("regressor").pmml());
        // A median of the trees: JPMML-Evaluator scores it, the compiled evaluator does not.
        byte[] pmml = text.replace("multipleModelMethod=\"sum\"", "multipleModelMethod=\"median\"")
                .replaceAll("(?s)<ModelVerification.*</ModelVerification>", "").getBytes(StandardCharsets.UTF_8);
        Scorer scorer = Scorer.load(pmml, "median-of-trees");
        assertFalse(scorer.isCompiled());
        assertEquals("jpmml: multipleModelMethod median is not compiled for regression", scorer.engine());
        Map<String, Object> record = Map.of("x1", 0.5, "x2", 0.25, "x3", 0.75, "x4", 0.125, "x5", 1.0);
        assertTrue(scorer.score(record).get("response") instanceof Double);
    }

    @Test
    public void compilingCanBeTurnedOffPerModel() throws Exception {
        Scorer scorer = Scorer.load(GoldenCase.named("forest").pmml(), false);
        assertFalse(scorer.isCompiled());
        assertEquals("jpmml: compiled evaluation turned off for this model", scorer.engine());
    }

    /** The golden case's rows, then 3,000 rows from {@code generator} seeded with {@code seed}. */
    private static List<Map<String, Object>> goldenAndGenerated(GoldenCase golden, Scorer scorer, long seed,
            java.util.function.BiFunction<Scorer, Random, Map<String, Object>> generator) throws Exception {
        List<Map<String, Object>> records = new ArrayList<>(golden.records(scorer));
        Random random = new Random(seed);
        for (int r = 0; r < 3000; r++) {
            records.add(generator.apply(scorer, random));
        }
        return records;
    }

    /** Same failed rows and errors, and every result column equal to the bit. */
    private static void assertSameBatch(String name, ColumnBatch want, ColumnBatch got) {
        assertArrayEquals(name, want.errorRows(), got.errorRows());
        assertArrayEquals(name, want.errorCodes(), got.errorCodes());
        assertArrayEquals(name, want.errorMessages(), got.errorMessages());
        for (int f = 0; f < want.fields().size(); f++) {
            Object a = want.column(f);
            Object b = got.column(f);
            if (a instanceof double[]) {
                assertTrue(name + " " + want.names()[f], Arrays.equals((double[]) a, (double[]) b));
            } else {
                assertArrayEquals(((CodedStrings) a).toArray(), ((CodedStrings) b).toArray());
            }
        }
    }

    private static void assertSame(String name, List<ScoreResult> want, List<ScoreResult> got) {
        assertEquals(want.size(), got.size());
        List<String> conflicts = new ArrayList<>();
        for (int i = 0; i < want.size(); i++) {
            ScoreResult a = want.get(i);
            ScoreResult b = got.get(i);
            if (a.isOk() != b.isOk() || (a.isOk() ? !a.values().equals(b.values()) : !a.errors().equals(b.errors()))) {
                conflicts.add(name + " row " + i + ": JPMML " + (a.isOk() ? a.values() : a.errors()) + " compiled "
                        + (b.isOk() ? b.values() : b.errors()));
            }
        }
        conflicts.stream().limit(20).forEach(System.out::println);
        assertEquals(name + ": conflicting rows (printed above)", 0, conflicts.size());
    }

    /**
     * Values a typed column holds: numbers (Double) around the model's range with missing (10%),
     * infinities (1%) and edge values (zeros of both signs, float boundaries); text with missing
     * (10%) and unseen categories.
     */
    private static Map<String, Object> typedRecord(Scorer scorer, Random random) {
        double[] edges = {-0.0, 0.0, 1e-46, -1e-46, Float.MIN_VALUE, 1e39, Math.nextUp(0.5f), Math.nextDown(0.5)};
        Map<String, Object> record = new HashMap<>();
        for (FieldSpec field : scorer.inputFields()) {
            double dice = random.nextDouble();
            Object value = null;
            if (dice < 0.10) {
                value = null;
            } else if (field.isNumeric()) {
                value = dice < 0.11 ? (Object) (random.nextBoolean() ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY)
                        : dice < 0.15 ? (Object) edges[random.nextInt(edges.length)]
                        : (Object) (Math.round(random.nextDouble() * 256 * 120 - 256 * 10) / 256.0);
            } else if (dice < 0.14 || field.categories().isEmpty()) {
                value = "unseen-" + random.nextInt(3);
            } else {
                value = String.valueOf(field.categories().get(random.nextInt(field.categories().size())));
            }
            record.put(field.name(), value);
        }
        return record;
    }

    private static CodedStrings coded(String[] values) {
        Map<String, Integer> index = new HashMap<>();
        int[] codes = new int[values.length];
        for (int r = 0; r < values.length; r++) {
            codes[r] = values[r] == null ? -1 : index.computeIfAbsent(values[r], k -> index.size());
        }
        String[] dictionary = new String[index.size()];
        index.forEach((word, code) -> dictionary[code] = word);
        return new CodedStrings(codes, dictionary);
    }

    /** Values around the model's range, missing (10%), unseen categories and wrong types (2% each). */
    private static Map<String, Object> randomRecord(Scorer scorer, Random random) {
        Map<String, Object> record = new HashMap<>();
        for (FieldSpec field : scorer.inputFields()) {
            double dice = random.nextDouble();
            Object value;
            if (dice < 0.10) {
                value = null;
            } else if (dice < 0.12) {
                value = field.isNumeric() ? "text" : 3.5;
            } else if (field.isNumeric()) {
                value = Math.round(random.nextDouble() * 256 * 120 - 256 * 10) / 256.0;
            } else if (dice < 0.14 || field.categories().isEmpty()) {
                value = "unseen-" + random.nextInt(3);
            } else {
                value = field.categories().get(random.nextInt(field.categories().size()));
            }
            if (value != null) {
                record.put(field.name(), value);
            }
        }
        return record;
    }
}
