package io.pmmlkit.bench;

import de.siegmar.fastcsv.reader.CsvReader;
import de.siegmar.fastcsv.reader.CsvRecord;
import io.pmmlkit.FieldSpec;
import io.pmmlkit.Predictor;
import io.pmmlkit.ScoreResult;
import io.pmmlkit.Scorer;
import io.pmmlkit.ServiceClient;
import io.pmmlkit.cli.CsvScoring;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.jpmml.evaluator.Evaluator;
import org.jpmml.evaluator.EvaluatorUtil;
import org.jpmml.evaluator.FieldValue;
import org.jpmml.evaluator.InputField;
import org.jpmml.evaluator.LoadingModelEvaluatorBuilder;

/**
 * Records per second for one golden model, single thread and all cores: raw JPMML-Evaluator (the
 * way its README scores a record), the embedded {@link Scorer}, and the {@link ServiceClient}
 * against a running pmmlkit service. Engines are interleaved round by round, in reverse order every
 * other round; medians reported.
 * Run by bench/bench_java_client.py, which starts the service and prints the summary table.
 *
 * <p>Arguments: {@code GOLDEN_CASE_DIR SERVICE_URL MODEL_NAME ROWS ROUNDS}
 */
public final class ClientBench {
    private ClientBench() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        URI service = URI.create(args[1]);
        String name = args[2];
        int rows = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        int cores = Runtime.getRuntime().availableProcessors();

        byte[] pmml = Files.readAllBytes(dir.resolve("model.pmml"));
        Evaluator raw = new LoadingModelEvaluatorBuilder().load(new java.io.ByteArrayInputStream(pmml)).build();
        raw.verify();
        Scorer scorer = Scorer.load(pmml, name);
        Predictor remote = ServiceClient.builder(service).build().predictor(name);
        List<Map<String, Object>> records = records(dir.resolve("input.csv"), scorer.inputFields(), rows);

        Map<String, Supplier<Integer>> engines = new LinkedHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(cores);
        engines.put("jpmml_raw_1", () -> scoreRaw(raw, records));
        engines.put("embedded_1", () -> count(scorer.scoreAll(records)));
        engines.put("jpmml_raw_all", () -> inSlices(pool, cores, records, slice -> scoreRaw(raw, slice)));
        engines.put("embedded_all", () -> count(scorer.scoreAll(records, true)));
        engines.put("http_1", () -> count(remote.scoreAll(records)));
        engines.put("http_all", () -> count(remote.scoreAll(records, true)));

        Map<String, List<Double>> rates = new LinkedHashMap<>();
        List<Map.Entry<String, Supplier<Integer>>> order = new ArrayList<>(engines.entrySet());
        for (int round = -2; round < rounds; round++) { // two warm-up rounds
            java.util.Collections.reverse(order); // every other round the other engine goes first
            for (Map.Entry<String, Supplier<Integer>> engine : order) {
                long start = System.nanoTime();
                int scored = engine.getValue().get();
                double seconds = (System.nanoTime() - start) / 1e9;
                if (scored != records.size()) {
                    throw new IllegalStateException(engine.getKey() + " scored " + scored + " of " + records.size());
                }
                if (round >= 0) {
                    rates.computeIfAbsent(engine.getKey(), k -> new ArrayList<>()).add(records.size() / seconds);
                }
            }
        }
        pool.shutdownNow();
        StringBuilder line = new StringBuilder("RESULT " + name + " cores=" + cores);
        rates.forEach((engine, values) -> line.append(' ').append(engine).append('=').append(Math.round(median(values))));
        // The library's overhead: the median over rounds of each round's raw/embedded ratio, so
        // that drift between rounds (JIT, the machine's other work) cancels out within a pair.
        line.append(" overhead_1=").append(pairedOverhead(rates.get("jpmml_raw_1"), rates.get("embedded_1")));
        line.append(" overhead_all=").append(pairedOverhead(rates.get("jpmml_raw_all"), rates.get("embedded_all")));
        System.out.println(line);
    }

    /**
     * Raw JPMML-Evaluator as its README scores a record: prepare each argument, evaluate, decode;
     * the decoded results kept in a list, as a caller scoring a batch keeps them (and as
     * {@code scoreAll} returns them: holding 100,000 results costs the collector work too).
     */
    private static int scoreRaw(Evaluator evaluator, List<Map<String, Object>> records) {
        List<Map<String, ?>> results = new ArrayList<>(records.size());
        for (Map<String, Object> record : records) {
            Map<String, FieldValue> arguments = new LinkedHashMap<>();
            for (InputField field : evaluator.getInputFields()) {
                arguments.put(field.getName(), field.prepare(record.get(field.getName())));
            }
            results.add(EvaluatorUtil.decodeAll(evaluator.evaluate(arguments)));
        }
        return results.size();
    }

    private interface Slice {
        int score(List<Map<String, Object>> records);
    }

    private static int inSlices(ExecutorService pool, int parts, List<Map<String, Object>> records, Slice slice) {
        List<Future<Integer>> futures = new ArrayList<>();
        int size = (records.size() + parts - 1) / parts;
        for (int start = 0; start < records.size(); start += size) {
            List<Map<String, Object>> part = records.subList(start, Math.min(records.size(), start + size));
            futures.add(pool.submit(() -> slice.score(part)));
        }
        int scored = 0;
        for (Future<Integer> future : futures) {
            try {
                scored += future.get();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        return scored;
    }

    private static int count(List<ScoreResult> results) {
        int ok = 0;
        for (ScoreResult result : results) {
            ok += result.isOk() ? 1 : 0;
        }
        return ok;
    }

    private static List<Map<String, Object>> records(Path csv, List<FieldSpec> fields, int rows) throws IOException {
        Map<String, FieldSpec> specs = new HashMap<>();
        fields.forEach(field -> specs.put(field.name(), field));
        List<Map<String, Object>> base = new ArrayList<>();
        try (CsvReader<CsvRecord> reader = CsvReader.builder().ofCsvRecord(csv)) {
            List<String> header = null;
            for (CsvRecord row : reader) {
                if (header == null) {
                    header = row.getFields();
                    continue;
                }
                Map<String, Object> record = new HashMap<>();
                for (int c = 0; c < header.size(); c++) {
                    FieldSpec spec = specs.get(header.get(c));
                    String cell = row.getField(c);
                    if (spec != null && !cell.isEmpty()) {
                        record.put(spec.name(), CsvScoring.typedCell(spec, cell));
                    }
                }
                base.add(record);
            }
        }
        List<Map<String, Object>> records = new ArrayList<>(rows);
        for (int i = 0; i < rows; i++) {
            records.add(base.get(i % base.size()));
        }
        return records;
    }

    private static double pairedOverhead(List<Double> raw, List<Double> embedded) {
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < raw.size(); i++) {
            ratios.add(raw.get(i) / embedded.get(i) - 1);
        }
        return median(ratios);
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }
}
