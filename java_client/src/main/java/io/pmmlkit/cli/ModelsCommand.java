package io.pmmlkit.cli;

import io.pmmlkit.ModelCatalog;
import io.pmmlkit.ModelInfo;
import io.pmmlkit.ScoringException;
import io.pmmlkit.ServiceClient;
import io.pmmlkit.StoreModels;
import io.pmmlkit.TransportException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code models}: what a store or the service holds, one line per model. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "Lists the models of a store or of the service.")
final class ModelsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    static final class Where {
        @Option(names = "--store", paramLabel = "DIR", required = true, description = "A pmmlkit model store directory.")
        Path store;

        @Option(names = "--url", paramLabel = "URL", required = true, description = "The pmmlkit service.")
        URI url;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (ModelCatalog catalog = where.store != null ? StoreModels.builder(where.store).build()
                : ServiceClient.builder(where.url).build()) {
            for (ModelInfo model : catalog.list()) {
                out.printf("%s\tv%d\tversions %s\taliases %s\t%s%n", model.name(), model.defaultVersion(), model.versions(),
                        model.aliases(), model.description());
            }
            return Main.OK;
        } catch (TransportException e) {
            throw new Main.ToolException(Main.UNREACHABLE, e.getMessage(), e);
        } catch (ScoringException e) {
            throw new Main.ToolException(Main.MODEL, e.getMessage(), e);
        }
    }
}
