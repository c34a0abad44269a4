package io.pmmlkit;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

public class ConcurrencyTest {

    @Test
    public void manyThreadsShareOneScorerAndGetTheSequentialResults() throws Exception {
        GoldenCase golden = GoldenCase.named("forest");
        Scorer scorer = Scorer.load(golden.pmml());
        List<Map<String, Object>> records = golden.records(scorer);
        List<ScoreResult> sequential = scorer.scoreAll(records);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<List<ScoreResult>>> futures = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                futures.add(pool.submit(() -> scorer.scoreAll(records)));
            }
            for (Future<List<ScoreResult>> future : futures) {
                List<ScoreResult> concurrent = future.get(60, TimeUnit.SECONDS);
                for (int row = 0; row < records.size(); row++) {
                    assertEquals(sequential.get(row).values(), concurrent.get(row).values());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
