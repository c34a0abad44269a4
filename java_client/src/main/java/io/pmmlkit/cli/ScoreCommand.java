package io.pmmlkit.cli;

import io.pmmlkit.ModelCatalog;
import io.pmmlkit.Predictor;
import io.pmmlkit.ScoringException;
import io.pmmlkit.TransportException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code score}: a CSV file through a model, streamed chunk by chunk. */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = {"Scores a CSV file (header row in) and writes one column per PMML result field "
            + "(targets and outputs, named as in the PMML), rows in input order, an empty cell for a missing value.",
            "Rows that cannot be scored get empty cells; their reasons go to standard error."})
final class ScoreCommand implements Callable<Integer> {
    private static final int SHOWN_PROBLEMS = 20;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelSource source;

    @Option(names = "--input", paramLabel = "FILE", defaultValue = "-", description = "CSV to score; - for standard input (default).")
    String input;

    @Option(names = "--output", paramLabel = "FILE", defaultValue = "-",
            description = "Where the results go; - for standard output (default). A file appears only once complete.")
    String output;

    @Option(names = "--delimiter", paramLabel = "CHAR", defaultValue = ",", description = "Field separator of input and output (default: ,).")
    char delimiter;

    @Option(names = "--batch-size", paramLabel = "ROWS", defaultValue = "1000", description = "Rows scored at a time (default: 1000).")
    int batchSize;

    @Option(names = "--parallel", description = "Score each batch across all cores (or as concurrent requests with --url).")
    boolean parallel;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        long started = System.nanoTime();
        try (ModelCatalog catalog = source.catalog()) {
            Predictor predictor = source.predictor(catalog);
            CsvScoring scoring = new CsvScoring(predictor, delimiter, batchSize, parallel);
            Problems problems = new Problems(err);
            CsvScoring.Summary summary = run(scoring, problems);
            problems.finish();
            err.printf("Scored %d of %d rows with %s%s in %.1f s.%n", summary.rows() - summary.failed(), summary.rows(),
                    predictor.model(), summary.version() > 0 ? " v" + summary.version() : "", (System.nanoTime() - started) / 1e9);
            return summary.failed() > 0 ? Main.ROWS_FAILED : Main.OK;
        } catch (CsvScoring.InvalidCsvException e) {
            throw new Main.ToolException(Main.IO, e.getMessage(), e);
        } catch (TransportException e) {
            throw new Main.ToolException(Main.UNREACHABLE, e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new Main.ToolException(Main.IO, e.getCause().getMessage(), e);
        } catch (ScoringException e) {
            throw new Main.ToolException(Main.MODEL, e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new Main.ToolException(Main.USAGE, e.getMessage(), e);
        }
    }

    private CsvScoring.Summary run(CsvScoring scoring, Problems problems) {
        try (Reader in = open(input)) {
            if ("-".equals(output)) {
                Writer out = spec.commandLine().getOut();
                CsvScoring.Summary summary = scoring.score(in, out, problems::add);
                out.flush();
                return summary;
            }
            Path target = Path.of(output).toAbsolutePath();
            Path partial = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".partial");
            try {
                CsvScoring.Summary summary;
                try (Writer out = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
                    summary = scoring.score(in, out, problems::add);
                }
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                return summary;
            } finally {
                Files.deleteIfExists(partial);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Reader open(String input) throws IOException {
        if ("-".equals(input)) {
            return new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        }
        return Files.newBufferedReader(Path.of(input), StandardCharsets.UTF_8);
    }

    /** The first problems in full, then a count, so a million bad rows do not flood the terminal. */
    private static final class Problems {
        private final PrintWriter err;
        private long count;

        Problems(PrintWriter err) {
            this.err = err;
        }

        void add(String problem) {
            if (++count <= SHOWN_PROBLEMS) {
                err.println(problem);
            }
        }

        void finish() {
            if (count > SHOWN_PROBLEMS) {
                err.println("... and " + (count - SHOWN_PROBLEMS) + " more problems.");
            }
        }
    }
}
