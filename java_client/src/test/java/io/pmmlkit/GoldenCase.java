package io.pmmlkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** A golden case shared with the Python tests: model.pmml, input.csv and scikit-learn's expected.csv. */
final class GoldenCase {
    static final double TOLERANCE = 1e-9;

    final String name;
    final Path dir;
    final List<String[]> input;
    final List<String[]> expected;

    private GoldenCase(Path dir) throws IOException {
        this.name = dir.getFileName().toString();
        this.dir = dir;
        this.input = readCsv(dir.resolve("input.csv"));
        this.expected = readCsv(dir.resolve("expected.csv"));
    }

    static Path root() {
        return Paths.get(System.getProperty("pmmlkit.golden", "tests/golden"));
    }

    static List<GoldenCase> all() throws IOException {
        List<GoldenCase> cases = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(root())) {
            for (Path dir : dirs.sorted().collect(Collectors.toList())) {
                if (Files.exists(dir.resolve("model.pmml"))) {
                    cases.add(new GoldenCase(dir));
                }
            }
        }
        return cases;
    }

    static GoldenCase named(String name) throws IOException {
        return new GoldenCase(root().resolve(name));
    }

    /** The records as one Object[] column per name, the form {@link Scorer#scoreColumns} takes. */
    static Object[] columns(List<Map<String, Object>> records, String[] names) {
        Object[] columns = new Object[names.length];
        for (int c = 0; c < names.length; c++) {
            Object[] column = new Object[records.size()];
            for (int r = 0; r < records.size(); r++) {
                column[r] = records.get(r).get(names[c]);
            }
            columns[c] = column;
        }
        return columns;
    }

    Path pmml() {
        return dir.resolve("model.pmml");
    }

    /** Input rows as records typed by the scorer's schema: empty cell is missing, numbers parsed. */
    List<Map<String, Object>> records(Scorer scorer) {
        Map<String, FieldSpec> specs = new HashMap<>();
        scorer.inputFields().forEach(f -> specs.put(f.name(), f));
        String[] header = input.get(0);
        List<Map<String, Object>> records = new ArrayList<>();
        for (String[] row : input.subList(1, input.size())) {
            Map<String, Object> record = new HashMap<>();
            for (int i = 0; i < header.length; i++) {
                FieldSpec spec = specs.get(header[i]);
                String cell = i < row.length ? row[i] : "";
                record.put(header[i], cell.isEmpty() ? null : spec != null && spec.isNumeric() ? (Object) Double.valueOf(cell) : cell);
            }
            records.add(record);
        }
        return records;
    }

    /**
     * Compares results with expected.csv and returns one line per conflicting cell (empty when all
     * match within {@link #TOLERANCE}, absolute plus relative).
     */
    List<String> conflicts(List<ScoreResult> results) {
        String[] header = expected.get(0);
        List<String> conflicts = new ArrayList<>();
        for (int row = 1; row < expected.size(); row++) {
            ScoreResult result = results.get(row - 1);
            if (!result.isOk()) {
                conflicts.add(name + " row " + row + ": not scored: " + result.errors());
                continue;
            }
            for (int col = 0; col < header.length; col++) {
                String want = expected.get(row)[col];
                Object got = result.get(header[col]);
                if (!matches(want, got)) {
                    conflicts.add(name + " row " + row + " " + header[col] + ": expected " + want + ", got " + got);
                }
            }
        }
        return conflicts;
    }

    static boolean matches(String want, Object got) {
        if (got instanceof Number) {
            double expected = Double.parseDouble(want);
            double actual = ((Number) got).doubleValue();
            return Math.abs(expected - actual) <= TOLERANCE + TOLERANCE * Math.abs(expected);
        }
        return want.equals(String.valueOf(got));
    }

    private static List<String[]> readCsv(Path file) throws IOException {
        List<String[]> rows = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!line.isEmpty()) {
                rows.add(line.split(",", -1));
            }
        }
        return rows;
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(input.get(0));
    }
}
