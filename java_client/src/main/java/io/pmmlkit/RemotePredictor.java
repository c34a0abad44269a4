package io.pmmlkit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One model reference of a {@link ServiceClient}: scores through the service's predict routes and
 * reads the schema from its description (the service follows promotions itself). Thread-safe.
 */
final class RemotePredictor implements Predictor {
    private final ServiceClient client;
    private final String name;
    private final String ref;

    RemotePredictor(ServiceClient client, String name, String ref) {
        this.client = client;
        this.name = name;
        this.ref = ref;
    }

    @Override
    public String model() {
        return name;
    }

    /** Asks the service on every call: the version behind an alias may have changed. */
    @Override
    public List<FieldSpec> inputFields() {
        return fields("inputs");
    }

    @Override
    public List<FieldSpec> resultFields() {
        return fields("outputs");
    }

    @Override
    @SuppressWarnings("unchecked")
    public ScoreResult score(Map<String, ?> record) {
        Map<String, Object> answer = client.post(path(), Collections.singletonMap("record", record));
        return ScoreResult.ok((Map<String, Object>) answer.get("result"), version(answer));
    }

    @Override
    public List<ScoreResult> scoreAll(List<? extends Map<String, ?>> records) {
        List<ScoreResult> results = new ArrayList<>(records.size());
        for (int start = 0; start < records.size(); start += client.batchSize()) {
            List<? extends Map<String, ?>> chunk = records.subList(start, Math.min(records.size(), start + client.batchSize()));
            results.addAll(scoreChunk(chunk));
        }
        return results;
    }

    @SuppressWarnings("unchecked")
    private List<ScoreResult> scoreChunk(List<? extends Map<String, ?>> records) {
        Map<String, Object> answer = client.post(path(), Collections.singletonMap("records", records));
        int version = version(answer);
        Map<Integer, List<Object>> errorsByIndex = new HashMap<>();
        for (Object entry : (List<?>) answer.getOrDefault("errors", List.of())) {
            int index = ((Number) ((Map<?, ?>) entry).get("index")).intValue();
            errorsByIndex.computeIfAbsent(index, i -> new ArrayList<>()).add(entry);
        }
        List<?> values = (List<?>) answer.get("results");
        List<ScoreResult> results = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            List<Object> errors = errorsByIndex.get(i);
            results.add(errors != null ? ScoreResult.failed(ServiceErrors.fieldErrors(errors), version)
                    : ScoreResult.ok((Map<String, Object>) values.get(i), version));
        }
        return results;
    }

    private String path() {
        return ServiceClient.modelPath(name, ref, "/predict");
    }

    /** The schema of the version the reference serves now. */
    @SuppressWarnings("unchecked")
    private List<FieldSpec> fields(String kind) {
        Map<String, Object> schema = (Map<String, Object>) client.describe(name, ref).get("schema");
        List<FieldSpec> fields = new ArrayList<>();
        for (Object field : (List<?>) schema.get(kind)) {
            fields.add(FieldSpec.fromJson((Map<?, ?>) field));
        }
        return List.copyOf(fields);
    }

    private static int version(Map<String, Object> answer) {
        return ((Number) answer.get("version")).intValue();
    }

    @Override
    public String toString() {
        return "remote model '" + name + "'" + (ref == null ? "" : " (" + ref + ")");
    }
}
