package io.pmmlkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jpmml.evaluator.EvaluationException;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.FieldValue;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.ModelEvaluator;
import org.jpmml.evaluator.OutputField;
import org.jpmml.evaluator.TargetField;

/**
 * A PMML model, loaded once, verified, and ready to score from many threads. Thread-safe.
 *
 * <pre>{@code
 * Scorer scorer = Scorer.load(Path.of("pmml_models/churn/3/model.pmml"));
 * ScoreResult result = scorer.score(Map.of("age", 42, "plan", "gold"));
 * System.out.println(result.get("probability(yes)"));
 * }</pre>
 *
 * <p>Loading runs the PMML's embedded verification rows and refuses a model that fails them. A
 * tree model is then compiled for the compiled tree evaluator as the {@link CompileMode} says:
 * before the load returns ({@code NOW}, the default), or in the background while JPMML-Evaluator
 * serves ({@code BACKGROUND}; see {@link #engine()} and {@link #awaitEngine(Duration)}).
 * Input problems are reported per field, all at once, with stable codes ({@code missing_field},
 * {@code invalid_type}, {@code invalid_value}, {@code out_of_range}, {@code evaluation_failed}).
 */
public final class Scorer implements Predictor {
    private final String source;
    private final String model;
    private final int version;
    private final Evaluator evaluator;
    private final List<InputPreparer> preparers;
    private final List<FieldSpec> inputs;
    private final List<FieldSpec> results;
    private final int targetCount;
    /** Read once per call: a batch finishes on the engine it started with. */
    private final EngineSwitch engine;

    private Scorer(String source, String model, int version, Evaluator evaluator, CompileMode mode) {
        this.source = source;
        this.model = model;
        this.version = version;
        this.evaluator = evaluator;
        List<InputPreparer> preparers = new ArrayList<>();
        for (InputField field : evaluator.getInputFields()) {
            preparers.add(new InputPreparer(field));
        }
        this.preparers = List.copyOf(preparers);
        this.inputs = preparers.stream().map(InputPreparer::spec).collect(java.util.stream.Collectors.toUnmodifiableList());
        List<FieldSpec> results = new ArrayList<>();
        for (TargetField field : evaluator.getTargetFields()) {
            results.add(FieldSpec.of(field));
        }
        for (OutputField field : evaluator.getOutputFields()) {
            results.add(FieldSpec.of(field));
        }
        this.results = List.copyOf(results);
        this.targetCount = evaluator.getTargetFields().size();
        List<InputPreparer> prepared = this.preparers;
        List<FieldSpec> fields = this.results;
        this.engine = EngineSwitch.start(java.util.Objects.requireNonNull(mode, "mode"), source,
                () -> CompiledScoring.compile(evaluator, prepared, fields, version));
    }

    /** Loads and verifies a PMML file, plain or gzip-compressed (detected from its content). */
    public static Scorer load(Path path) {
        return load(ModelLoader.read(path), path.toString());
    }

    /**
     * Loads and verifies a PMML file; with {@code compile} false a tree model is scored by
     * JPMML-Evaluator instead of the compiled evaluator (see {@link #engine()}).
     */
    public static Scorer load(Path path, boolean compile) {
        return load(path, compile ? CompileMode.NOW : CompileMode.OFF);
    }

    /** Loads and verifies a PMML file; a tree model is compiled as {@code mode} says. */
    public static Scorer load(Path path, CompileMode mode) {
        String source = path.toString();
        return new Scorer(source, source, 0, ModelLoader.load(ModelLoader.read(path), source, true), mode);
    }

    /** Loads and verifies PMML bytes, plain or gzip; {@code source} names the model in messages. */
    public static Scorer load(byte[] pmml, String source) {
        return load(pmml, source, true);
    }

    /**
     * Loads PMML bytes; with {@code verify} false the embedded verification rows are not run. Only
     * for a converter that compares the model with its source row by row before trusting it.
     */
    public static Scorer load(byte[] pmml, String source, boolean verify) {
        return load(pmml, source, verify, true);
    }

    /**
     * Loads PMML bytes; {@code verify} as in {@link #load(byte[], String, boolean)}, and with
     * {@code compile} false a tree model is scored by JPMML-Evaluator instead of the compiled
     * evaluator.
     */
    public static Scorer load(byte[] pmml, String source, boolean verify, boolean compile) {
        return load(pmml, source, verify, compile ? CompileMode.NOW : CompileMode.OFF);
    }

    /**
     * Loads PMML bytes; {@code verify} as in {@link #load(byte[], String, boolean)}, and a tree
     * model is compiled as {@code mode} says.
     */
    public static Scorer load(byte[] pmml, String source, boolean verify, CompileMode mode) {
        return new Scorer(source, source, 0, ModelLoader.load(pmml, source, verify), mode);
    }

    /** A verified store version: results carry its version, messages name "churn v3". */
    static Scorer load(byte[] pmml, String model, int version, boolean compile) {
        String source = model + " v" + version;
        CompileMode mode = compile ? CompileMode.NOW : CompileMode.OFF;
        return new Scorer(source, model, version, ModelLoader.load(pmml, source, true), mode);
    }

    /** The JPMML-Evaluator version on the classpath (from its Maven metadata), or "unknown". */
    public static String engineVersion() {
        String resource = "/META-INF/maven/org.jpmml/pmml-evaluator/pom.properties";
        try (java.io.InputStream in = Evaluator.class.getResourceAsStream(resource)) {
            java.util.Properties properties = new java.util.Properties();
            if (in != null) {
                properties.load(in);
            }
            return properties.getProperty("version", "unknown");
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    /** The name this scorer was loaded under: a path, or the source given to {@link #load(byte[], String)}. */
    public String source() {
        return source;
    }

    /** The store name of the model, or {@link #source()} for a model loaded from a file. */
    @Override
    public String model() {
        return model;
    }

    /** The store version of the model; 0 for a model loaded from a file. */
    public int version() {
        return version;
    }

    /**
     * Which engine scores this model and why: {@code "compiled: ..."} (the compiled tree
     * evaluator, with the rows and leaves its load-time check against JPMML-Evaluator covered) or
     * {@code "jpmml: <reason>"} (JPMML-Evaluator, and why the model is not compiled). With
     * {@link CompileMode#BACKGROUND}, {@code "jpmml: compiling and checking in the background"}
     * until the background compile ends one way or the other.
     */
    public String engine() {
        return engine.describe();
    }

    /** True when the compiled tree evaluator scores this model (now: it may switch later). */
    public boolean isCompiled() {
        return engine.compiled() != null;
    }

    /**
     * Waits until a background compile has ended, at most {@code timeout}, and returns
     * {@link #engine()}: still the "in the background" description if the time ran out. Returns at
     * once for a scorer loaded with {@link CompileMode#NOW} or {@link CompileMode#OFF}.
     */
    public String awaitEngine(Duration timeout) throws InterruptedException {
        return engine.await(timeout);
    }

    /** PMML mining function: {@code classification}, {@code regression}, {@code clustering}, ... */
    public String miningFunction() {
        return evaluator.getMiningFunction().value();
    }

    /** The PMML model's {@code algorithmName} (sklearn2pmml writes the estimator class), or null. */
    public String algorithmName() {
        return evaluator instanceof ModelEvaluator ? ((ModelEvaluator<?>) evaluator).getModel().getAlgorithmName() : null;
    }

    /** The input schema: every field a record may carry, in the model's order. */
    @Override
    public List<FieldSpec> inputFields() {
        return inputs;
    }

    /** The model's target fields (a model without one gets the synthetic {@code _target}). */
    public List<FieldSpec> targetFields() {
        return results.subList(0, targetCount);
    }

    /** The model's output fields (probabilities, node ids, ...), after the targets in {@link #resultFields()}. */
    public List<FieldSpec> outputFields() {
        return results.subList(targetCount, results.size());
    }

    /** The result schema: target fields then output fields, named as in the PMML. */
    @Override
    public List<FieldSpec> resultFields() {
        return results;
    }

    /**
     * Scores one record (field name to value; absent or null means missing).
     *
     * @throws InvalidInputException naming every problem of the record
     */
    @Override
    public ScoreResult score(Map<String, ?> record) {
        ScoreResult result = scoreOne(record);
        result.valuesOrThrow();
        return result;
    }

    /** Scores many records; a bad record gets a failed result in its slot and the others still score. */
    @Override
    public List<ScoreResult> scoreAll(List<? extends Map<String, ?>> records) {
        CompiledScoring compiled = engine.compiled();
        if (compiled != null) {
            return compiled.scoreAll(records);
        }
        List<ScoreResult> out = new ArrayList<>(records.size());
        for (Map<String, ?> record : records) {
            out.add(interpret(record));
        }
        return out;
    }

    /**
     * Scores one record given as values, {@code values[i]} the value of input field
     * {@code names[i]} ({@code Double}, {@code Long}, {@code String}, {@code Boolean}, or null or
     * {@code NaN} for missing), and answers in JSON ({@link RecordAnswer}): the Python bridge's
     * entry point for single records, one call in and one array out where a column batch of one
     * row costs a call per column.
     */
    public byte[] scoreValues(String[] names, Object[] values) {
        if (names.length != values.length) {
            throw new IllegalArgumentException(names.length + " field names for " + values.length + " values");
        }
        Map<String, Object> record = new HashMap<>(names.length * 2);
        for (int i = 0; i < names.length; i++) {
            record.put(names[i], InputColumns.value(values, i));
        }
        return RecordAnswer.encode(scoreOne(record), results);
    }

    /**
     * Scores a batch given as columns, the entry point of the Python bridge: one call for the whole
     * batch. Each column is a {@code double[]} ({@code NaN} is missing), {@code long[]},
     * {@code String[]} or {@code Object[]} ({@code null} or {@code NaN} is missing), all of one length.
     * Columns the model does not use are ignored; a model field without a column is missing.
     */
    public ColumnBatch scoreColumns(String[] names, Object[] columns) {
        return scoreColumns(names, columns, 0L);
    }

    /**
     * {@link #scoreColumns(String[], Object[])} with a time budget: when {@code timeoutMillis} is
     * positive and the batch takes longer, scoring stops and a {@link ScoringException} with code
     * {@code timeout} is thrown (a service answers it instead of holding a thread).
     */
    public ColumnBatch scoreColumns(String[] names, Object[] columns, long timeoutMillis) {
        InputColumns input = InputColumns.of(names, columns);
        CompiledScoring compiled = engine.compiled();
        if (compiled != null) {
            return compiled.scoreColumns(input, source, timeoutMillis);
        }
        ResultColumns output = new ResultColumns(results, input.rows());
        long start = System.nanoTime();
        long budget = timeoutMillis * 1_000_000L;
        for (int row = 0; row < input.rows(); row++) {
            if (timeoutMillis > 0 && System.nanoTime() - start > budget) {
                throw CompiledScoring.timeout(source, row, input.rows(), timeoutMillis);
            }
            ScoreResult result = evaluate(prepare(input.row(row)));
            output.set(row, result);
        }
        return output.build();
    }

    private ScoreResult scoreOne(Map<String, ?> record) {
        CompiledScoring compiled = engine.compiled();
        if (compiled != null) {
            return compiled.scoreAll(java.util.Collections.singletonList(record)).get(0);
        }
        return interpret(record);
    }

    /** One record scored by JPMML-Evaluator. */
    private ScoreResult interpret(Map<String, ?> record) {
        if (record == null) {
            return ScoreResult.failed(List.of(new FieldError(null, "invalid_record", "A record must be an object of field values; got null.")), version);
        }
        return evaluate(prepare(record));
    }

    private Prepared prepare(Map<String, ?> record) {
        List<FieldError> errors = new ArrayList<>();
        Map<String, FieldValue> arguments = new HashMap<>();
        for (InputPreparer preparer : preparers) {
            String name = preparer.spec().name();
            arguments.put(name, preparer.prepare(record.get(name), errors));
        }
        return new Prepared(arguments, errors);
    }

    private ScoreResult evaluate(Prepared prepared) {
        if (!prepared.errors.isEmpty()) {
            return ScoreResult.failed(prepared.errors, version);
        }
        try {
            Map<String, ?> raw = evaluator.evaluate(prepared.arguments);
            Map<String, Object> values = new LinkedHashMap<>();
            for (FieldSpec field : results) {
                Object value = raw.get(field.synthetic() ? Evaluator.DEFAULT_TARGET_NAME : field.name());
                values.put(field.name(), EvaluatorUtil.decode(value));
            }
            return ScoreResult.ok(values, version);
        } catch (EvaluationException | IllegalArgumentException | ArithmeticException e) {
            String message = "Model '" + source + "' cannot score this record: " + ModelLoader.describe(e);
            return ScoreResult.failed(List.of(new FieldError(null, "evaluation_failed", message)), version);
        }
    }

    private static final class Prepared {
        final Map<String, FieldValue> arguments;
        final List<FieldError> errors;

        Prepared(Map<String, FieldValue> arguments, List<FieldError> errors) {
            this.arguments = arguments;
            this.errors = errors;
        }
    }
}
