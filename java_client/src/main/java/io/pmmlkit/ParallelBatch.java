package io.pmmlkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Splits a batch into chunks scored concurrently by the calling thread and the common fork-join
 * pool (a parallel stream), results kept in input order.
 */
final class ParallelBatch {
    /** Below this many records per chunk the hand-over costs more than it saves. */
    static final int MIN_CHUNK = 64;

    private ParallelBatch() {
    }

    static List<ScoreResult> score(Predictor predictor, List<? extends Map<String, ?>> records) {
        int workers = ForkJoinPool.getCommonPoolParallelism() + 1;
        int chunk = Math.max(MIN_CHUNK, (records.size() + 4 * workers - 1) / (4 * workers));
        if (records.size() <= chunk) {
            return predictor.scoreAll(records);
        }
        int chunks = (records.size() + chunk - 1) / chunk;
        List<List<ScoreResult>> parts = IntStream.range(0, chunks).parallel()
                .mapToObj(i -> predictor.scoreAll(records.subList(i * chunk, Math.min(records.size(), (i + 1) * chunk))))
                .collect(Collectors.toList());
        List<ScoreResult> results = new ArrayList<>(records.size());
        parts.forEach(results::addAll);
        return results;
    }
}
