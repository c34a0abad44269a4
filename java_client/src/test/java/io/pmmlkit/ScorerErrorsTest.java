package io.pmmlkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.GZIPOutputStream;
import org.junit.Test;

public class ScorerErrorsTest {

    private static byte[] pmml(String name) throws Exception {
        return Files.readAllBytes(GoldenCase.named(name).pmml());
    }

    private static ModelLoadException refused(byte[] data) {
        try {
            Scorer.load(data, "candidate");
        } catch (ModelLoadException e) {
            return e;
        }
        throw new AssertionError("the model was accepted");
    }

    @Test
    public void missingFileIsModelNotFound() {
        try {
            Scorer.load(Path.of("no/such/model.pmml"));
            fail("loaded a missing file");
        } catch (ModelLoadException e) {
            assertEquals("model_not_found", e.code());
            assertEquals("Model file 'no/such/model.pmml' does not exist.", e.getMessage());
        }
    }

    @Test
    public void emptyGarbageAndTruncatedDocumentsAreInvalidPmml() throws Exception {
        byte[] whole = pmml("logistic_mixed");
        for (byte[] data : List.of(new byte[0], "not xml".getBytes(StandardCharsets.UTF_8),
                Arrays.copyOf(whole, whole.length / 2))) {
            ModelLoadException e = refused(data);
            assertEquals("invalid_pmml", e.code());
            assertTrue(e.getMessage(), e.getMessage().startsWith("Model 'candidate' "));
            assertFalse(e.getMessage(), e.getMessage().contains("Exception"));
        }
    }

    @Test
    public void doctypeDeclarationsAreRefused() throws Exception {
        String text = new String(pmml("logistic_mixed"), StandardCharsets.UTF_8)
                .replaceFirst("\\?>", "?><!DOCTYPE PMML [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>");
        ModelLoadException e = refused(text.getBytes(StandardCharsets.UTF_8));
        assertEquals("invalid_pmml", e.code());
        assertTrue(e.getMessage(), e.getMessage().contains("DOCTYPE is disallowed"));
    }

    @Test
    public void failedVerificationRefusesTheModel() throws Exception {
        String text = new String(pmml("logistic_mixed"), StandardCharsets.UTF_8)
                .replaceFirst("<data:probability_yes>[^<]+</data:probability_yes>", "<data:probability_yes>0.123</data:probability_yes>");
        ModelLoadException e = refused(text.getBytes(StandardCharsets.UTF_8));
        assertEquals("verification_failed", e.code());
        assertTrue(e.getMessage(), e.getMessage().startsWith("Model 'candidate' fails its embedded verification rows: "));
    }

    @Test
    public void gzipModelsLoadAndScoreLikePlainOnes() throws Exception {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        try (GZIPOutputStream gzip = new GZIPOutputStream(buffer)) {
            gzip.write(pmml("forest"));
        }
        Scorer plain = Scorer.load(pmml("forest"), "plain");
        Scorer compressed = Scorer.load(buffer.toByteArray(), "gzip");
        Map<String, Object> record = Map.of("f1", 0.2, "f2", 0.5, "f3", 0.4, "f4", 0.3, "f5", 0.8, "f6", 0.9);
        assertEquals(plain.score(record).values(), compressed.score(record).values());
    }

    @Test
    public void everyProblemOfARecordIsReportedAtOnce() throws Exception {
        Scorer scorer = Scorer.load(pmml("logistic_mixed"), "loans");
        Map<String, Object> record = new HashMap<>();
        record.put("color", 5);
        record.put("region", "mars");
        record.put("age", "forty");
        record.put("income", Double.POSITIVE_INFINITY);
        record.put("score", List.of(1));
        try {
            scorer.score(record);
            fail("scored a bad record");
        } catch (InvalidInputException e) {
            assertEquals(List.of(
                    new FieldError("color", "invalid_type", "Field 'color' must be a string; got 5."),
                    new FieldError("region", "invalid_value", "Field 'region' must be one of 'east', 'missing', 'north', 'south', 'west'; got 'mars'."),
                    new FieldError("age", "invalid_type", "Field 'age' must be a number; got 'forty'."),
                    new FieldError("income", "invalid_value", "Field 'income' must be a finite number; got Infinity."),
                    new FieldError("score", "invalid_type", "Field 'score' must be a number; got a list.")), e.errors());
            assertEquals("invalid_type", e.code());
            assertEquals("color", e.field());
        }
    }

    @Test
    public void strictDomainsReportMissingAndOutOfRangeValues() throws Exception {
        Scorer scorer = Scorer.load(pmml("multiclass"), "iris");
        Map<String, Object> record = new HashMap<>();
        record.put("sepal_length", 5.0);
        record.put("petal_length", Double.NaN);
        record.put("petal_width", 9.5);
        List<String> codes = scorer.scoreAll(List.of(record)).get(0).errors().stream()
                .map(FieldError::toString).collect(Collectors.toList());
        assertEquals(List.of(
                "missing_field[sepal_width]: Field 'sepal_width' is required; got no value.",
                "invalid_value[petal_length]: Field 'petal_length' must be a finite number; got NaN.",
                "out_of_range[petal_width]: Field 'petal_width' must be within [0.1, 2.5]; got 9.5."), codes);
    }

    @Test
    public void aBadRowInAColumnBatchFailsAlone() throws Exception {
        Scorer scorer = Scorer.load(pmml("multiclass"), "iris");
        String[] names = {"sepal_length", "sepal_width", "petal_length", "petal_width"};
        Object[] columns = {
            new double[] {5.1, 6.0, 5.9}, new double[] {3.5, Double.NaN, 3.0},
            new Object[] {1.4, 4.5, "long"}, new double[] {0.2, 1.5, 1.8}};
        ColumnBatch batch = scorer.scoreColumns(names, columns);
        assertEquals(3, batch.rows());
        assertTrue(Arrays.equals(new int[] {1, 2}, batch.errorRows()));
        assertEquals(List.of("missing_field", "invalid_type"), Arrays.asList(batch.errorCodes()));
        String[] labels = ((CodedStrings) batch.column(0)).toArray();
        assertEquals("setosa", labels[0]);
        assertEquals(null, labels[1]);
        assertTrue(Double.isNaN(((double[]) batch.column(1))[2]));
    }

    @Test
    public void codedTextColumnsScoreLikePlainValues() throws Exception {
        Scorer scorer = Scorer.load(pmml("logistic_mixed"), "loans");
        String[] names = {"color", "region", "age", "income", "score"};
        Object[] coded = {
            new CodedStrings(new int[] {0, 1, -1}, new String[] {"red", "blue"}),
            new CodedStrings(new int[] {0, -1, 0}, new String[] {"west"}),
            new long[] {40, 35, 61}, new double[] {50.0, Double.NaN, 20.5}, new double[] {0.5, 0.1, 0.9}};
        ColumnBatch batch = scorer.scoreColumns(names, coded);
        assertEquals(0, batch.errorRows().length);
        Map<String, Object> third = new HashMap<>();
        third.put("region", "west");
        third.put("age", 61L);
        third.put("income", 20.5);
        third.put("score", 0.9);
        assertEquals(scorer.score(third).get("approved"), ((CodedStrings) batch.column(0)).get(2));
        assertEquals((Double) scorer.score(third).get("probability(yes)"), ((double[]) batch.column(2))[2], 0.0);
    }

    @Test
    public void codesOutsideTheDictionaryAreRefused() {
        try {
            new CodedStrings(new int[] {0, 2}, new String[] {"red", "blue"});
            fail("accepted code 2 for a dictionary of 2");
        } catch (IllegalArgumentException e) {
            assertEquals("code 2 outside the dictionary of 2", e.getMessage());
        }
    }

    @Test
    public void columnsOfDifferentLengthsAreRefused() throws Exception {
        Scorer scorer = Scorer.load(pmml("forest"), "forest");
        try {
            scorer.scoreColumns(new String[] {"f1", "f2"}, new Object[] {new double[2], new double[3]});
            fail("accepted ragged columns");
        } catch (ScoringException e) {
            assertEquals("invalid_batch", e.code());
            assertEquals("Column 'f2' has 3 values; the columns before it have 2.", e.getMessage());
        }
    }

    @Test
    public void aBatchOverItsTimeBudgetStopsWithTimeout() throws Exception {
        Scorer scorer = Scorer.load(pmml("forest"), "forest");
        int rows = 200_000;
        double[] f1 = new double[rows];
        double[] f2 = new double[rows];
        try {
            scorer.scoreColumns(new String[] {"f1", "f2", "f3", "f4", "f5", "f6"}, new Object[] {f1, f2, f1, f2, f1, f2}, 1L);
            fail("200000 rows of a forest scored within 1 ms");
        } catch (ScoringException e) {
            assertEquals("timeout", e.code());
            assertTrue(e.getMessage(), e.getMessage().matches(
                    "Model 'forest' scored [0-9]+ of 200000 rows in the 1 ms allowed; the request was stopped\\."));
        }
        assertEquals(3, scorer.scoreColumns(new String[] {"f1", "f2"}, new Object[] {new double[3], new double[3]}, 60_000L).rows());
    }
}
