package io.pmmlkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;

/** The JDK's HttpServer on 127.0.0.1, port 0, answering with a function and recording every request. */
final class LoopbackServer implements AutoCloseable {
    /** One request as the server saw it. */
    static final class Request {
        final String method;
        final String path;
        final String query;
        final String authorization;
        final String contentType;
        final String body;

        Request(HttpExchange exchange, String body) {
            this.method = exchange.getRequestMethod();
            this.path = exchange.getRequestURI().getPath();
            this.query = exchange.getRequestURI().getRawQuery();
            this.authorization = exchange.getRequestHeaders().getFirst("Authorization");
            this.contentType = exchange.getRequestHeaders().getFirst("Content-Type");
            this.body = body;
        }
    }

    /** An answer: status, content type and body; a null answer drops the connection unanswered. */
    static final class Answer {
        final int status;
        final String contentType;
        final String body;
        final long delayMillis;

        Answer(int status, String contentType, String body, long delayMillis) {
            this.status = status;
            this.contentType = contentType;
            this.body = body;
            this.delayMillis = delayMillis;
        }

        static Answer json(int status, String body) {
            return new Answer(status, "application/json", body, 0);
        }
    }

    final List<Request> requests = new CopyOnWriteArrayList<>();
    private final HttpServer server;

    LoopbackServer(Function<Request, Answer> answers) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", exchange -> {
            Request request = new Request(exchange, new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            requests.add(request);
            Answer answer = answers.apply(request);
            if (answer == null) {
                exchange.close();
                return;
            }
            sleep(answer.delayMillis);
            byte[] body = answer.body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", answer.contentType);
            exchange.sendResponseHeaders(answer.status, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            } catch (IOException e) {
                // the client gave up waiting (a timeout test): nothing left to send to
            }
        });
        server.start();
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
