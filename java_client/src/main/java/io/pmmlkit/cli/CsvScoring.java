package io.pmmlkit.cli;

import de.siegmar.fastcsv.reader.CsvParseException;
import de.siegmar.fastcsv.reader.CsvReader;
import de.siegmar.fastcsv.reader.CsvRecord;
import de.siegmar.fastcsv.writer.CsvWriter;
import de.siegmar.fastcsv.writer.LineDelimiter;
import io.pmmlkit.FieldError;
import io.pmmlkit.FieldSpec;
import io.pmmlkit.Predictor;
import io.pmmlkit.ScoreResult;
import io.pmmlkit.ScoringException;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Scores a CSV stream chunk by chunk, so a file larger than memory works: header row in, one
 * column per result field out (target and output fields, named as in the PMML), rows in input
 * order, an empty cell for a missing value and for every cell of a row that could not be scored.
 * Cells are typed by the model's input schema: empty is missing, a numeric field's cell is parsed
 * as a number (a cell that is not one is passed on, so the row fails with {@code invalid_type}).
 * Columns the model does not use are ignored. Not thread-safe; one instance per stream.
 *
 * <pre>{@code
 * CsvScoring.Summary summary = new CsvScoring(predictor, ',', 1000, false)
 *         .score(reader, writer, problem -> log.warn(problem));
 * }</pre>
 */
public final class CsvScoring {
    private final Predictor predictor;
    private final char delimiter;
    private final int chunkSize;
    private final boolean parallel;

    public CsvScoring(Predictor predictor, char delimiter, int chunkSize, boolean parallel) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunkSize must be at least 1; got " + chunkSize + ".");
        }
        this.predictor = predictor;
        this.delimiter = delimiter;
        this.chunkSize = chunkSize;
        this.parallel = parallel;
    }

    /**
     * Reads {@code in} to the end, writes every row's results to {@code out}, and tells
     * {@code problems} about each row that could not be scored ("row 7 (line 8): ...").
     *
     * @throws InvalidCsvException when the input has no header row or cannot be parsed
     * @throws UncheckedIOException when reading or writing fails
     */
    public Summary score(Reader in, Writer out, Consumer<String> problems) {
        List<FieldSpec> results = predictor.resultFields();
        Map<String, FieldSpec> inputs = new HashMap<>();
        predictor.inputFields().forEach(field -> inputs.put(field.name(), field));
        try (CsvReader<CsvRecord> reader = CsvReader.builder().fieldSeparator(delimiter).detectBomHeader(true)
                .ignoreDifferentFieldCount(true).acceptCharsAfterQuotes(false).ofCsvRecord(in);
             CsvWriter writer = CsvWriter.builder().fieldSeparator(delimiter).lineDelimiter(LineDelimiter.LF).build(out)) {
            Iterator<CsvRecord> rows = reader.iterator();
            if (!rows.hasNext()) {
                throw new InvalidCsvException("The CSV input is empty; expected a header row naming the input fields.");
            }
            List<String> header = rows.next().getFields();
            writer.writeRecord(results.stream().map(FieldSpec::name).toArray(String[]::new));
            Summary summary = new Summary();
            List<Map<String, Object>> records = new ArrayList<>(chunkSize);
            List<CsvRecord> chunk = new ArrayList<>(chunkSize);
            while (rows.hasNext()) {
                chunk.add(rows.next());
                if (chunk.size() == chunkSize || !rows.hasNext()) {
                    chunk.forEach(row -> records.add(record(header, row, inputs)));
                    write(writer, chunk, header.size(), predictor.scoreAll(records, parallel), results, summary, problems);
                    records.clear();
                    chunk.clear();
                }
            }
            return summary;
        } catch (CsvParseException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new InvalidCsvException(e.getMessage() + ": " + cause.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void write(CsvWriter writer, List<CsvRecord> chunk, int columns, List<ScoreResult> scored,
            List<FieldSpec> results, Summary summary, Consumer<String> problems) {
        String[] cells = new String[results.size()];
        for (int i = 0; i < chunk.size(); i++) {
            CsvRecord row = chunk.get(i);
            ScoreResult result = scored.get(i);
            summary.rows++;
            String where = "row " + summary.rows + " (line " + row.getStartingLineNumber() + ")";
            if (row.getFieldCount() > columns) {
                result = null;
                problems.accept(where + ": has " + row.getFieldCount() + " cells; the header has " + columns + ".");
            } else if (!result.isOk()) {
                for (FieldError error : result.errors()) {
                    problems.accept(where + ": " + error.message());
                }
            }
            summary.version = result != null ? result.version() : summary.version;
            boolean ok = result != null && result.isOk();
            if (!ok) {
                summary.failed++;
            }
            for (int c = 0; c < cells.length; c++) {
                cells[c] = ok ? text(result.get(results.get(c).name())) : "";
            }
            writer.writeRecord(cells);
        }
    }

    private static Map<String, Object> record(List<String> header, CsvRecord row, Map<String, FieldSpec> inputs) {
        Map<String, Object> record = new HashMap<>();
        for (int c = 0; c < header.size() && c < row.getFieldCount(); c++) {
            FieldSpec spec = inputs.get(header.get(c));
            String cell = row.getField(c);
            if (spec != null && !cell.isEmpty()) {
                record.put(spec.name(), typedCell(spec, cell));
            }
        }
        return record;
    }

    /**
     * A non-empty CSV cell as a record value for {@code spec}: a number for a numeric field (the
     * text when it is not one, so that scoring reports it), a boolean for a boolean field, else text.
     */
    public static Object typedCell(FieldSpec spec, String cell) {
        if (spec.isNumeric()) {
            try {
                return Double.valueOf(cell.strip());
            } catch (NumberFormatException e) {
                return cell;
            }
        }
        if ("boolean".equals(spec.dataType()) && ("true".equalsIgnoreCase(cell) || "false".equalsIgnoreCase(cell))) {
            return Boolean.valueOf(cell);
        }
        return cell;
    }

    /** A result value as a cell: shortest round-trip text for numbers, empty for missing or NaN. */
    static String text(Object value) {
        if (value == null || (value instanceof Double && ((Double) value).isNaN())
                || (value instanceof Float && ((Float) value).isNaN())) {
            return "";
        }
        return value.toString();
    }

    /** What one run did: rows read, rows that could not be scored, the model version that scored. */
    public static final class Summary {
        private long rows;
        private long failed;
        private int version;

        public long rows() {
            return rows;
        }

        public long failed() {
            return failed;
        }

        /** The store version that scored the rows (0 for a model file). */
        public int version() {
            return version;
        }
    }

    /** The input is not usable CSV: no header row, or a quote left open. */
    public static final class InvalidCsvException extends ScoringException {
        private static final long serialVersionUID = 1L;

        public InvalidCsvException(String message) {
            super("invalid_csv", null, message);
        }
    }
}
