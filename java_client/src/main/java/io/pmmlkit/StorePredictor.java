package io.pmmlkit;

import java.util.List;
import java.util.Map;

/**
 * A reference into a {@link StoreModels}: every call scores with the version the reference
 * serves at that moment, so a swap never splits one call across two versions. Thread-safe.
 */
final class StorePredictor implements Predictor {
    private final StoreModels models;
    private final StoreModels.Binding binding;

    StorePredictor(StoreModels models, StoreModels.Binding binding) {
        this.models = models;
        this.binding = binding;
    }

    @Override
    public String model() {
        return binding.name;
    }

    @Override
    public List<FieldSpec> inputFields() {
        return models.current(binding).inputFields();
    }

    @Override
    public List<FieldSpec> resultFields() {
        return models.current(binding).resultFields();
    }

    @Override
    public ScoreResult score(Map<String, ?> record) {
        return models.current(binding).score(record);
    }

    @Override
    public List<ScoreResult> scoreAll(List<? extends Map<String, ?>> records) {
        return models.current(binding).scoreAll(records);
    }

    /** Every chunk scores with the one version serving when the call began. */
    @Override
    public List<ScoreResult> scoreAll(List<? extends Map<String, ?>> records, boolean parallel) {
        return models.current(binding).scoreAll(records, parallel);
    }

    @Override
    public String toString() {
        return "model '" + binding.name + "' " + binding.describe();
    }
}
