package io.pmmlkit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * The HTTP client against a real loopback server (the JDK's HttpServer) that answers as the
 * pmmlkit service does; the cross-language tests run it against the Python service itself.
 */
public class ServiceClientTest {
    private static final String RESULT = "{\"model\": \"churn\", \"version\": 3, \"request_id\": \"r1\","
            + " \"result\": {\"label\": 1, \"probability(1)\": 0.75}}";

    @Test
    public void scoresOneRecordIntoTheSameResultTypeAsEmbeddedScoring() throws Exception {
        try (LoopbackServer server = new LoopbackServer(request -> LoopbackServer.Answer.json(200, RESULT))) {
            ScoreResult result = client(server).build().predictor("churn").score(Map.of("age", 42));
            assertEquals(3, result.version());
            assertEquals(Map.of("label", 1, "probability(1)", 0.75), result.values());
            LoopbackServer.Request request = server.requests.get(0);
            assertEquals("POST /v1/models/churn/predict", request.method + " " + request.path);
            assertEquals("application/json", request.contentType);
            assertEquals("{\"record\":{\"age\":42}}", request.body);
        }
    }

    @Test
    public void versionsAndAliasesGoToTheirOwnRoutes() throws Exception {
        try (LoopbackServer server = new LoopbackServer(request -> LoopbackServer.Answer.json(200, RESULT))) {
            ServiceClient client = client(server).build();
            client.predictor("churn", "2").score(Map.of());
            client.predictor("churn", "canary").score(Map.of());
            assertEquals("/v1/models/churn/versions/2/predict", server.requests.get(0).path);
            assertEquals("/v1/models/churn/aliases/canary/predict", server.requests.get(1).path);
        }
    }

    @Test
    public void aBatchIsSentInChunksAndEachBadRecordFailsInItsSlot() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (LoopbackServer server = new LoopbackServer(request -> {
            int call = calls.getAndIncrement();
            String errors = call == 0 ? "[{\"index\": 1, \"field\": \"age\", \"code\": \"invalid_type\", \"message\": \"Field 'age' must be a number; got 'x'.\"},"
                    + " {\"index\": 1, \"field\": \"plan\", \"code\": \"missing_field\", \"message\": \"Field 'plan' is required; got no value.\"}]" : "[]";
            String second = call == 0 ? "null" : "{\"y\": 2.5}";
            return LoopbackServer.Answer.json(200, "{\"version\": 4, \"results\": [{\"y\": " + call + ".5}, " + second
                    + "], \"errors\": " + errors + "}");
        })) {
            List<Map<String, Object>> records = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                records.add(Map.of("age", i));
            }
            List<ScoreResult> results = client(server).batchSize(2).build().predictor("churn").scoreAll(records);
            assertEquals(2, server.requests.size());
            assertEquals(4, results.size());
            assertEquals(Map.of("y", 0.5), results.get(0).values());
            assertEquals(List.of(new FieldError("age", "invalid_type", "Field 'age' must be a number; got 'x'."),
                    new FieldError("plan", "missing_field", "Field 'plan' is required; got no value.")), results.get(1).errors());
            assertEquals(Map.of("y", 1.5), results.get(2).values());
            assertEquals(Map.of("y", 2.5), results.get(3).values());
            assertEquals(4, results.get(3).version());
        }
    }

    @Test
    public void serviceErrorsBecomeTheEmbeddedExceptionTypes() throws Exception {
        String invalid = "{\"error\": {\"code\": \"invalid_type\", \"field\": \"age\", \"message\": \"Field 'age' must be a number; got 'x'.\","
                + " \"errors\": [{\"field\": \"age\", \"code\": \"invalid_type\", \"message\": \"Field 'age' must be a number; got 'x'.\"}]}}";
        String notFound = "{\"error\": {\"code\": \"model_not_found\", \"field\": \"name\", \"message\": \"Model 'x' does not exist.\"}}";
        String tooMany = "{\"error\": {\"code\": \"too_many_records\", \"message\": \"At most 10000 records per request; got 20000.\"}}";
        try (LoopbackServer server = new LoopbackServer(request -> request.path.contains("/x/") ? LoopbackServer.Answer.json(404, notFound)
                : request.body.contains("big") ? LoopbackServer.Answer.json(413, tooMany) : LoopbackServer.Answer.json(400, invalid))) {
            ServiceClient client = client(server).build();
            try {
                client.predictor("churn").score(Map.of("age", "x"));
                fail("expected an InvalidInputException");
            } catch (InvalidInputException e) {
                assertEquals("invalid_type", e.code());
                assertEquals("age", e.field());
                assertEquals(1, e.errors().size());
            }
            StoreModelsTest.assertCode("model_not_found", () -> client.predictor("x").score(Map.of()));
            try {
                client.predictor("churn").score(Map.of("big", 1));
                fail("expected a ScoringException");
            } catch (InvalidInputException e) {
                fail("a whole-request error is not an input error: " + e);
            } catch (ScoringException e) {
                assertEquals("too_many_records", e.code());
                assertEquals("At most 10000 records per request; got 20000.", e.getMessage());
            }
        }
    }

    @Test
    public void anAnswerWithoutAnErrorBodyIsNamedByItsStatus() throws Exception {
        try (LoopbackServer server = new LoopbackServer(request -> new LoopbackServer.Answer(502, "text/html", "<h1>Bad gateway</h1>", 0))) {
            try {
                client(server).retries(0).build().list();
                fail("expected a ScoringException");
            } catch (ScoringException e) {
                assertEquals("http_502", e.code());
                assertTrue(e.getMessage(), e.getMessage().contains("<h1>Bad gateway</h1>"));
            }
        }
    }

    @Test
    public void readsAreRetriedOnGatewayErrorsButScoringIsNot() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        try (LoopbackServer server = new LoopbackServer(request -> calls.getAndIncrement() < 2
                ? LoopbackServer.Answer.json(503, "{\"error\": {\"code\": \"model_not_ready\", \"message\": \"Loading.\"}}")
                : LoopbackServer.Answer.json(200, "{\"models\": []}"))) {
            ServiceClient client = client(server).retries(2).build();
            assertEquals(List.of(), client.list());
            assertEquals(3, server.requests.size());
            calls.set(0);
            StoreModelsTest.assertCode("model_not_ready", () -> client.predictor("churn").score(Map.of()));
            assertEquals("a POST is sent once", 4, server.requests.size());
        }
    }

    @Test
    public void noAnswerIsATransportFailureNotAServiceError() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        ServiceClient refused = ServiceClient.builder(URI.create("http://127.0.0.1:" + closedPort)).retries(1).build();
        assertTransport("got no answer in 2 attempts: the connection was refused", () -> refused.list());
        try (LoopbackServer server = new LoopbackServer(request -> new LoopbackServer.Answer(200, "application/json", RESULT, 3000))) {
            ServiceClient slow = client(server).timeout(Duration.ofMillis(200)).build();
            assertTransport("got no answer: no answer within 200 ms", () -> slow.predictor("churn").score(Map.of()));
        }
    }

    @Test
    public void theTokenGoesWithEveryCallAndAdminCallsUseTheirRoutes() throws Exception {
        try (LoopbackServer server = new LoopbackServer(request -> LoopbackServer.Answer.json(request.method.equals("PUT")
                && request.path.equals("/v1/models/churn") ? 201 : 200, "{\"name\": \"churn\", \"version\": 5}"))) {
            ServiceClient client = client(server).token("s3cret-s3cret-s3cret").build();
            assertEquals(5, client.publish("churn", "<PMML/>".getBytes(), "retrained weekly"));
            client.promote("churn", "production", 5);
            client.archive("churn", 4);
            client.reload();
            List<String> seen = new ArrayList<>();
            server.requests.forEach(r -> seen.add(r.method + " " + r.path + (r.query != null ? "?" + r.query : "") + " " + r.body));
            assertEquals(List.of("PUT /v1/models/churn?description=retrained+weekly <PMML/>",
                    "PUT /v1/models/churn/aliases/production {\"version\":5}",
                    "POST /v1/models/churn/versions/4/archive ", "POST /v1/admin/reload "), seen);
            server.requests.forEach(r -> assertEquals("Bearer s3cret-s3cret-s3cret", r.authorization));
        }
        try (LoopbackServer server = new LoopbackServer(request -> LoopbackServer.Answer.json(200, "{\"models\": []}"))) {
            client(server).build().list();
            assertNull(server.requests.get(0).authorization);
        }
    }

    @Test
    public void readsTheSchemaAndTheListing() throws Exception {
        String listing = "{\"models\": [{\"name\": \"churn\", \"versions\": [1, 2], \"aliases\": {\"production\": 1},"
                + " \"default_version\": 1, \"description\": \"Churn.\", \"algorithm\": \"sklearn.svm._classes.SVC\"}]}";
        String description = "{\"name\": \"churn\", \"version\": 1, \"schema\": {\"inputs\": [{\"name\": \"age\", \"type\": \"double\","
                + " \"op_type\": \"continuous\", \"missing_allowed\": false, \"intervals\": [[18.0, null, true, false]]},"
                + " {\"name\": \"plan\", \"type\": \"string\", \"op_type\": \"categorical\", \"missing_allowed\": true, \"categories\": [\"gold\", \"basic\"]}],"
                + " \"outputs\": [{\"name\": \"label\", \"type\": \"integer\", \"op_type\": \"categorical\", \"missing_allowed\": true, \"categories\": [0, 1]}]}}";
        try (LoopbackServer server = new LoopbackServer(request -> LoopbackServer.Answer.json(200,
                request.path.equals("/v1/models") ? listing : description))) {
            ServiceClient client = client(server).build();
            ModelInfo churn = client.list().get(0);
            assertEquals(List.of(1, 2), churn.versions());
            assertEquals(Map.of("production", 1), churn.aliases());
            assertEquals("sklearn.svm._classes.SVC", churn.algorithm());
            List<FieldSpec> inputs = client.predictor("churn", "production").inputFields();
            assertEquals("/v1/models/churn/versions/1", server.requests.get(server.requests.size() - 1).path);
            assertEquals("age(double, continuous)", inputs.get(0).toString());
            assertEquals("[18.0, +inf)", inputs.get(0).intervals().get(0).toString());
            assertEquals(List.of("gold", "basic"), inputs.get(1).categories());
            assertEquals(List.of(0, 1), client.predictor("churn").resultFields().get(0).categories());
        }
    }

    private static ServiceClient.Builder client(LoopbackServer server) {
        return ServiceClient.builder(server.uri()).timeout(Duration.ofSeconds(10));
    }

    private static void assertTransport(String expected, Runnable call) {
        try {
            call.run();
            fail("expected a TransportException");
        } catch (TransportException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(expected));
        }
    }
}
