package io.pmmlkit.cli;

import io.pmmlkit.ModelCatalog;
import io.pmmlkit.Predictor;
import io.pmmlkit.Scorer;
import java.nio.file.Path;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Where the model comes from: exactly one of a PMML file, a store directory, or the service. */
final class ModelSource {
    @ArgGroup(exclusive = true, multiplicity = "1")
    Where where;

    @Option(names = "--name", paramLabel = "NAME", description = "The model's name (with --store or --url).")
    String name;

    @Option(names = "--ref", paramLabel = "VERSION|ALIAS",
            description = "A version number or an alias (with --store or --url); default: the production alias, else the newest version.")
    String ref;

    static final class Where {
        @Option(names = "--model", paramLabel = "FILE", required = true, description = "A PMML file, plain or gzip.")
        Path model;

        @ArgGroup(exclusive = true, multiplicity = "1")
        CatalogLocation catalog;
    }

    /** The catalog for --store or --url (null for --model); the caller closes it. */
    ModelCatalog catalog() {
        return where.catalog != null ? where.catalog.open() : null;
    }

    Predictor predictor(ModelCatalog catalog) {
        if (catalog == null) {
            if (name != null || ref != null) {
                throw new Main.ToolException(Main.USAGE, "--name and --ref go with --store or --url, not --model.", null);
            }
            return Scorer.load(where.model);
        }
        if (name == null) {
            throw new Main.ToolException(Main.USAGE, "--store and --url need --name NAME.", null);
        }
        return catalog.predictor(name, ref);
    }
}
