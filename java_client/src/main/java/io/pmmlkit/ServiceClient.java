package io.pmmlkit;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The pmmlkit scoring service's {@code /v1} API over HTTP, through one reusable
 * {@code java.net.http.HttpClient}. Scoring answers come back as the same {@link ScoreResult} and
 * the same exceptions as embedded scoring; a call that gets no answer throws
 * {@link TransportException}. Idempotent calls (reads, alias moves) are retried on transport
 * failures and 502/503/504 answers; scoring and uploads are never retried. Thread-safe.
 *
 * <pre>{@code
 * ServiceClient client = ServiceClient.builder(URI.create("http://scoring.internal:8080"))
 *         .token(System.getenv("PMMLKIT_ADMIN_TOKEN"))   // only admin calls need it
 *         .timeout(Duration.ofSeconds(5))
 *         .build();
 * Predictor churn = client.predictor("churn");
 * ScoreResult result = churn.score(Map.of("age", 42, "plan", "gold"));
 * int version = client.publish("churn", Files.readAllBytes(Path.of("churn.pmml")), "retrained");
 * client.promote("churn", "production", version);
 * }</pre>
 */
public final class ServiceClient implements ModelCatalog {
    private final URI base;
    private final HttpClient http;
    private final String token;
    private final Duration timeout;
    private final int retries;
    private final int batchSize;

    private ServiceClient(Builder builder) {
        String uri = builder.base.toString();
        this.base = URI.create(uri.endsWith("/") ? uri : uri + "/");
        this.http = builder.http != null ? builder.http : HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1).connectTimeout(builder.connectTimeout).build();
        this.token = builder.token;
        this.timeout = builder.timeout;
        this.retries = builder.retries;
        this.batchSize = builder.batchSize;
    }

    public static Builder builder(URI base) {
        return new Builder(base);
    }

    @Override
    public List<ModelInfo> list() {
        List<ModelInfo> models = new ArrayList<>();
        for (Object item : (List<?>) get("v1/models").get("models")) {
            models.add(modelInfo((Map<?, ?>) item));
        }
        return models;
    }

    /**
     * The service's description of the version a reference serves ({@code null}: the default):
     * {@code name}, {@code version}, {@code aliases}, {@code card}, {@code schema}.
     */
    public Map<String, Object> describe(String name, String ref) {
        if (ref == null || ModelNames.isVersion(ref)) {
            return get(modelPath(name, ref, ""));
        }
        ModelInfo info = list().stream().filter(m -> m.name().equals(name)).findFirst()
                .orElseThrow(() -> new ModelLoadException("model_not_found", "Model '" + name + "' does not exist."));
        Integer version = info.aliases().get(ref);
        if (version == null) {
            throw new ModelLoadException("alias_not_found", "Model '" + name + "' has no alias '" + ref
                    + "'; aliases: " + info.aliases().keySet() + ".");
        }
        return get(modelPath(name, version.toString(), ""));
    }

    @Override
    public Predictor predictor(String name, String ref) {
        return new RemotePredictor(this, ModelNames.check("model name", name), ref);
    }

    /** Uploads a PMML (plain or gzip) as a new version, verified by the service; returns the version. */
    public int publish(String name, byte[] pmml, String description) {
        String query = description == null ? "" : "?description=" + URLEncoder.encode(description, StandardCharsets.UTF_8);
        HttpRequest.Builder request = request("v1/models/" + ModelNames.check("model name", name) + query)
                .header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofByteArray(pmml));
        return ((Number) send(request, false).get("version")).intValue();
    }

    /** Points an alias at a version: a promotion or a rollback. Idempotent, so retried. */
    public void promote(String name, String alias, int version) {
        String path = "v1/models/" + ModelNames.check("model name", name) + "/aliases/" + ModelNames.check("alias", alias);
        send(json(request(path), "PUT", Map.of("version", version)), true);
    }

    /** Archives a version: it stops serving and stays in the store's archive. */
    public void archive(String name, int version) {
        String path = "v1/models/" + ModelNames.check("model name", name) + "/versions/" + version + "/archive";
        send(request(path).POST(HttpRequest.BodyPublishers.noBody()), false);
    }

    /** Asks the service to reread its store now instead of at its next poll. */
    public void reload() {
        send(request("v1/admin/reload").POST(HttpRequest.BodyPublishers.noBody()), false);
    }

    /** Nothing to release: the JDK's HTTP client frees its connections when unreferenced. */
    @Override
    public void close() {
    }

    int batchSize() {
        return batchSize;
    }

    Map<String, Object> get(String path) {
        return send(request(path).GET(), true);
    }

    Map<String, Object> post(String path, Object body) {
        return send(json(request(path), "POST", body), false);
    }

    static String modelPath(String name, String ref, String suffix) {
        String model = "v1/models/" + ModelNames.check("model name", name);
        if (ref == null) {
            return model + suffix;
        }
        return model + (ModelNames.isVersion(ref) ? "/versions/" + ref : "/aliases/" + ModelNames.check("alias", ref)) + suffix;
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
                .header("Accept", "application/json");
        return token == null ? request : request.header("Authorization", "Bearer " + token);
    }

    private static HttpRequest.Builder json(HttpRequest.Builder request, String method, Object body) {
        return request.header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofByteArray(Json.write(body)));
    }

    private Map<String, Object> send(HttpRequest.Builder builder, boolean idempotent) {
        HttpRequest request = builder.build();
        int attempts = idempotent ? retries + 1 : 1;
        for (int attempt = 1; ; attempt++) {
            HttpResponse<byte[]> response;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                if (attempt >= attempts) {
                    throw new TransportException(request.method() + " " + request.uri() + " got no answer"
                            + (attempts > 1 ? " in " + attempts + " attempts" : "") + ": " + reason(e), e);
                }
                pause(attempt);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TransportException(request.method() + " " + request.uri() + " was interrupted.",
                        new InterruptedIOException(e.getMessage()));
            }
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return answer(request, response.body());
            }
            if (attempt >= attempts || (status != 502 && status != 503 && status != 504)) {
                throw ServiceErrors.from(status, response.body());
            }
            pause(attempt);
        }
    }

    private static Map<String, Object> answer(HttpRequest request, byte[] body) {
        try {
            return Json.read(body);
        } catch (IOException e) {
            throw new ScoringException("invalid_response", null, request.method() + " " + request.uri()
                    + " answered something that is not a JSON object: " + ModelLoader.describe(e), e);
        }
    }

    /** Why a call got no answer, in words (the JDK's exceptions often carry no message). */
    private String reason(IOException error) {
        if (error instanceof java.net.http.HttpConnectTimeoutException) {
            return "no connection within the connect timeout";
        }
        if (error instanceof java.net.http.HttpTimeoutException) {
            return "no answer within " + timeout.toMillis() + " ms";
        }
        if (error instanceof java.net.ConnectException) {
            return "the connection was refused (is the service running at " + base + "?)";
        }
        String detail = ModelLoader.describe(error);
        return "no detail given".equals(detail) ? "the connection failed" : detail;
    }

    private static void pause(int attempt) {
        try {
            Thread.sleep(100L << Math.min(attempt - 1, 5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TransportException("Interrupted while waiting to retry.", new InterruptedIOException(e.getMessage()));
        }
    }

    @SuppressWarnings("unchecked")
    private static ModelInfo modelInfo(Map<?, ?> item) {
        List<Integer> versions = new ArrayList<>();
        ((List<Number>) item.get("versions")).forEach(v -> versions.add(v.intValue()));
        Map<String, Integer> aliases = new java.util.TreeMap<>();
        ((Map<String, Number>) item.get("aliases")).forEach((alias, v) -> aliases.put(alias, v.intValue()));
        return new ModelInfo((String) item.get("name"), versions, aliases, ((Number) item.get("default_version")).intValue(),
                (String) item.get("description"), (String) item.get("algorithm"));
    }

    /** Builds a {@link ServiceClient}; not thread-safe, the client it builds is. */
    public static final class Builder {
        private final URI base;
        private HttpClient http;
        private String token;
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration timeout = Duration.ofSeconds(30);
        private int retries = 2;
        private int batchSize = 1000;

        private Builder(URI base) {
            this.base = Objects.requireNonNull(base, "base");
            if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme())) {
                throw new IllegalArgumentException("The service URI must be http:// or https://; got '" + base + "'.");
            }
        }

        /** The admin bearer token; sent on every call when set. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** How long to wait for a connection (default 5 s); ignored with {@link #httpClient}. */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = positive("connectTimeout", connectTimeout);
            return this;
        }

        /** How long to wait for each answer (default 30 s). */
        public Builder timeout(Duration timeout) {
            this.timeout = positive("timeout", timeout);
            return this;
        }

        /** Extra attempts for an idempotent call that got no answer or a 502/503/504 (default 2). */
        public Builder retries(int retries) {
            if (retries < 0) {
                throw new IllegalArgumentException("retries must not be negative; got " + retries + ".");
            }
            this.retries = retries;
            return this;
        }

        /** Records per scoring request (default 1000; the service refuses more than its --max-records). */
        public Builder batchSize(int batchSize) {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be at least 1; got " + batchSize + ".");
            }
            this.batchSize = batchSize;
            return this;
        }

        /** An HTTP client to share (its own executor, proxy, TLS settings); default: a new one. */
        public Builder httpClient(HttpClient http) {
            this.http = Objects.requireNonNull(http, "http");
            return this;
        }

        public ServiceClient build() {
            return new ServiceClient(this);
        }

        private static Duration positive(String name, Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(name + " must be positive; got " + value + ".");
            }
            return value;
        }
    }
}
