package io.pmmlkit.cli;

import io.pmmlkit.ModelCatalog;
import io.pmmlkit.ServiceClient;
import io.pmmlkit.StoreModels;
import java.net.URI;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where named models live: a store directory ({@code --store}) or the service ({@code --url}). */
final class CatalogLocation {
    @Option(names = "--store", paramLabel = "DIR", required = true, description = "A pmmlkit model store directory.")
    Path store;

    @Option(names = "--url", paramLabel = "URL", required = true, description = "The pmmlkit service, such as http://127.0.0.1:8080.")
    URI url;

    /** The catalog; the caller closes it. A store keeps one version in memory: the tool scores one model. */
    ModelCatalog open() {
        return store != null ? StoreModels.builder(store).maxLoaded(1).build() : ServiceClient.builder(url).build();
    }
}
