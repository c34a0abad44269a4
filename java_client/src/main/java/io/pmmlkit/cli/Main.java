package io.pmmlkit.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The command-line tool in the pmmlkit jar: {@code java -jar pmmlkit-java-client-all.jar score ...}.
 * The one place of the jar that ends the JVM with an exit code; {@link #run} is the same without
 * exiting, for tests and for programs that embed the tool.
 *
 * <p>Exit codes: 0 every row scored; 1 some rows could not be scored (their cells are empty, the
 * reasons are on standard error); 2 wrong usage; 3 the model cannot be found or loaded; 4 the input
 * or output cannot be read, written or parsed; 5 the scoring service did not answer.
 *
 * <pre>{@code
 * int code = Main.run(new String[] {"score", "--model", "churn.pmml", "--input", "in.csv", "--output", "out.csv"},
 *         new PrintWriter(System.out, true), new PrintWriter(System.err, true));
 * }</pre>
 */
@Command(name = "pmmlkit", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Scores CSV files with PMML models: a file, a model store, or the pmmlkit service.",
        subcommands = {ScoreCommand.class, ModelsCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every row scored", "1:some rows could not be scored (empty cells; reasons on stderr)",
            "2:wrong usage", "3:the model cannot be found or loaded", "4:the input or output cannot be read, written or parsed",
            "5:the scoring service did not answer"})
public final class Main implements Runnable {
    static final int OK = 0;
    static final int ROWS_FAILED = 1;
    static final int USAGE = 2;
    static final int MODEL = 3;
    static final int IO = 4;
    static final int UNREACHABLE = 5;

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the tool with these arguments and streams; returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine line = new CommandLine(new Main());
        line.setOut(out);
        line.setErr(err);
        line.setExecutionExceptionHandler((error, command, parsed) -> {
            err.println("pmmlkit: " + error.getMessage());
            return error instanceof ToolException ? ((ToolException) error).exitCode : MODEL;
        });
        int code = line.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "Name a command: score or models.");
    }

    /** A failure the tool reports as one line on stderr and an exit code. */
    static final class ToolException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int exitCode;

        ToolException(int exitCode, String message, Throwable cause) {
            super(message, cause);
            this.exitCode = exitCode;
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"pmmlkit " + (version != null ? version : "(development build)")
                + ", JPMML-Evaluator " + io.pmmlkit.Scorer.engineVersion()};
        }
    }
}
