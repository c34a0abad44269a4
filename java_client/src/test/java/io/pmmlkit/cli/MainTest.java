package io.pmmlkit.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The CSV tool through {@link Main#run}: the same code path as {@code java -jar}, without the exit. */
public class MainTest {
    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        return Main.run(args, new PrintWriter(out), new PrintWriter(err));
    }

    private static Path golden(String name, String file) {
        return Paths.get(System.getProperty("pmmlkit.golden", "tests/golden"), name, file);
    }

    @Test
    public void writesOneColumnPerResultFieldInInputOrder() throws Exception {
        Path output = folder.getRoot().toPath().resolve("out.csv");
        int code = run("score", "--model", golden("multiclass", "model.pmml").toString(),
                "--input", golden("multiclass", "input.csv").toString(), "--output", output.toString(), "--batch-size", "7");
        assertEquals(err.toString(), 0, code);
        List<String> lines = Files.readAllLines(output);
        List<String> expected = Files.readAllLines(golden("multiclass", "expected.csv"));
        assertEquals(expected.get(0), lines.get(0));
        assertEquals(expected.size(), lines.size());
        for (int row = 1; row < lines.size(); row++) {
            assertEquals(expected.get(row).split(",")[0], lines.get(row).split(",")[0]);
        }
        assertTrue(err.toString(), err.toString().contains("Scored 150 of 150 rows"));
    }

    @Test
    public void rowsThatCannotBeScoredGetEmptyCellsAndExitOne() throws Exception {
        Path input = write("in.csv", "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\nforty,3.5,1.4,0.2\n5.1,3.5,1.4,0.2,9\n");
        int code = run("score", "--model", golden("multiclass", "model.pmml").toString(), "--input", input.toString());
        assertEquals(err.toString(), 1, code);
        String[] lines = out.toString().split("\n");
        assertEquals(4, lines.length);
        assertEquals(",,,", lines[2]);
        assertEquals(",,,", lines[3]);
        assertFalse(lines[1].startsWith(","));
        assertTrue(err.toString(), err.toString().contains("row 2 (line 3): Field 'sepal_length' must be a number; got 'forty'."));
        assertTrue(err.toString(), err.toString().contains("row 3 (line 4): has 5 cells; the header has 4."));
        assertTrue(err.toString(), err.toString().contains("Scored 1 of 3 rows"));
    }

    @Test
    public void scoresFromAStoreByName() throws Exception {
        Path store = Files.createDirectories(folder.getRoot().toPath().resolve("store/iris/1"));
        byte[] pmml = Files.readAllBytes(golden("multiclass", "model.pmml"));
        Files.write(store.resolve("model.pmml"), pmml);
        Files.writeString(store.resolve("model.json"), "{\"pmml\": {\"file\": \"model.pmml\", \"sha256\": \""
                + sha256(pmml) + "\"}}");
        int code = run("score", "--store", store.getParent().getParent().toString(), "--name", "iris",
                "--input", golden("multiclass", "input.csv").toString());
        assertEquals(err.toString(), 0, code);
        assertTrue(err.toString(), err.toString().contains("with iris v1"));
        assertEquals(151, out.toString().split("\n").length);
    }

    @Test
    public void exitCodesTellWhatWentWrong() throws Exception {
        Path model = golden("multiclass", "model.pmml");
        assertEquals("no model", 2, run("score", "--input", "x.csv"));
        assertEquals("two sources", 2, run("score", "--model", model.toString(), "--store", "."));
        assertEquals("--name with a file", 2, run("score", "--model", model.toString(), "--name", "x"));
        assertEquals("missing model", 3, run("score", "--model", "absent.pmml", "--input", golden("multiclass", "input.csv").toString()));
        assertTrue(err.toString(), err.toString().contains("Model file 'absent.pmml' does not exist."));
        assertEquals("not PMML", 3, run("score", "--model", write("bad.pmml", "<html/>").toString()));
        assertEquals("missing input", 4, run("score", "--model", model.toString(), "--input", "absent.csv"));
        assertEquals("empty input", 4, run("score", "--model", model.toString(), "--input", write("empty.csv", "").toString()));
        assertTrue(err.toString(), err.toString().contains("The CSV input is empty; expected a header row"));
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        assertEquals("nobody answers", 5, run("score", "--url", "http://127.0.0.1:" + port, "--name", "iris",
                "--input", golden("multiclass", "input.csv").toString()));
    }

    @Test
    public void aFailedRunLeavesNoPartialOutputFile() throws Exception {
        Path output = folder.getRoot().toPath().resolve("out.csv");
        Path input = write("broken.csv", "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n5.1,3.5,1.4,\"0.2\"x\n");
        int code = run("score", "--model", golden("multiclass", "model.pmml").toString(), "--input", input.toString(),
                "--output", output.toString());
        assertEquals(err.toString(), 4, code);
        assertFalse(Files.exists(output));
        try (var files = Files.list(folder.getRoot().toPath())) {
            assertTrue(files.noneMatch(path -> path.getFileName().toString().endsWith(".partial")));
        }
    }

    private Path write(String name, String text) throws Exception {
        return Files.write(folder.getRoot().toPath().resolve(name), text.getBytes(StandardCharsets.UTF_8));
    }

    private static String sha256(byte[] bytes) throws Exception {
        byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(bytes);
        return String.format("%064x", new java.math.BigInteger(1, digest));
    }
}
