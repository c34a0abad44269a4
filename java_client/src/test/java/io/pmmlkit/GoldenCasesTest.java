package io.pmmlkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class GoldenCasesTest {

    @Test
    public void everyGoldenCaseMatchesScikitLearnRecordByRecord() throws Exception {
        List<GoldenCase> cases = GoldenCase.all();
        assertTrue("expected the golden cases under " + GoldenCase.root(), cases.size() >= 4);
        List<String> conflicts = new ArrayList<>();
        for (GoldenCase golden : cases) {
            Scorer scorer = Scorer.load(golden.pmml());
            List<ScoreResult> results = new ArrayList<>();
            for (Map<String, Object> record : golden.records(scorer)) {
                results.add(scorer.score(record));
            }
            conflicts.addAll(golden.conflicts(results));
        }
        conflicts.forEach(System.out::println);
        assertEquals("conflicting cells (printed above)", 0, conflicts.size());
    }

    @Test
    public void scoreAllMatchesScoreOneByOne() throws Exception {
        for (GoldenCase golden : GoldenCase.all()) {
            Scorer scorer = Scorer.load(golden.pmml());
            List<Map<String, Object>> records = golden.records(scorer);
            List<ScoreResult> batch = scorer.scoreAll(records);
            for (int i = 0; i < records.size(); i++) {
                assertEquals(golden.name + " row " + i, scorer.score(records.get(i)).values(), batch.get(i).values());
            }
        }
    }

    @Test
    public void columnBatchMatchesRecordScoring() throws Exception {
        for (GoldenCase golden : GoldenCase.all()) {
            Scorer scorer = Scorer.load(golden.pmml());
            List<Map<String, Object>> records = golden.records(scorer);
            String[] names = golden.input.get(0);
            Object[] columns = GoldenCase.columns(records, names);
            ColumnBatch batch = scorer.scoreColumns(names, columns);
            assertEquals(0, batch.errorRows().length);
            assertEquals(records.size(), batch.rows());
            for (int i = 0; i < batch.fields().size(); i++) {
                FieldSpec field = batch.fields().get(i);
                Object column = batch.column(i);
                for (int r = 0; r < records.size(); r++) {
                    Object one = scorer.score(records.get(r)).get(field.name());
                    Object cell = column instanceof double[] ? (Object) ((double[]) column)[r] : ((CodedStrings) column).get(r);
                    assertTrue(golden.name + " row " + r + " " + field.name() + ": " + one + " vs " + cell,
                            GoldenCase.matches(String.valueOf(cell), one));
                }
            }
        }
    }
}
