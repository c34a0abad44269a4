package io.pmmlkit;

import java.util.List;
import java.util.Map;

/**
 * The one scoring contract of pmmlkit, the same for a model embedded in this JVM and for a model
 * served over HTTP: a record in (field name to value), a {@link ScoreResult} out, the same
 * exceptions ({@link InvalidInputException} naming every problem of a record,
 * {@link ModelLoadException} for a model that cannot be had, {@link ScoringException} for the rest;
 * a remote call that never got an answer is a {@link TransportException}). Implementations are
 * thread-safe.
 *
 * <pre>{@code
 * ModelCatalog models = remote
 *         ? ServiceClient.builder(URI.create("http://scoring:8080")).build()
 *         : StoreModels.builder(Path.of("pmml_models")).build();
 * Predictor churn = models.predictor("churn");              // "production" alias, else newest
 * ScoreResult result = churn.score(Map.of("age", 42, "plan", "gold"));
 * List<ScoreResult> results = churn.scoreAll(records, true); // in parallel, results in order
 * }</pre>
 */
public interface Predictor {
    /** The model this predictor scores with: its store name, or the file it was loaded from. */
    String model();

    /** The input schema: every field a record may carry, in the model's order. */
    List<FieldSpec> inputFields();

    /** The result schema: target fields then output fields, named as in the PMML. */
    List<FieldSpec> resultFields();

    /**
     * Scores one record (absent or null means missing).
     *
     * @throws InvalidInputException naming every problem of the record
     */
    ScoreResult score(Map<String, ?> record);

    /**
     * Scores many records, results in input order; a bad record gets a failed result in its slot
     * ({@link ScoreResult#errors()}) and the others still score.
     */
    List<ScoreResult> scoreAll(List<? extends Map<String, ?>> records);

    /**
     * {@link #scoreAll(List)}, split into chunks scored at the same time across the cores (or, for
     * a remote model, as concurrent requests) when {@code parallel} is true. Results stay in input
     * order. Runs on the calling thread and the common fork-join pool. Embedded, one call scores
     * with one model version; remotely, each request (of at most the client's batch size) is
     * answered by the version serving then, which {@link ScoreResult#version()} tells.
     */
    default List<ScoreResult> scoreAll(List<? extends Map<String, ?>> records, boolean parallel) {
        return parallel ? ParallelBatch.score(this, records) : scoreAll(records);
    }
}
