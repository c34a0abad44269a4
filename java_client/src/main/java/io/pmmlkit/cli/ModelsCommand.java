package io.pmmlkit.cli;

import io.pmmlkit.ModelCatalog;
import io.pmmlkit.ModelInfo;
import io.pmmlkit.ScoringException;
import io.pmmlkit.TransportException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code models}: what a store or the service holds, one line per model. */
@Command(name = "models", mixinStandardHelpOptions = true, description = "Lists the models of a store or of the service.")
final class ModelsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    CatalogLocation where;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (ModelCatalog catalog = where.open()) {
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
