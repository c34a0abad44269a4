package io.pmmlkit;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A remote call that got no answer from the service: it could not connect, the connection broke,
 * or no answer came within the timeout. Kept apart from {@link ScoringException}, which always
 * carries the service's own answer, so that a caller can tell "the model said no" from "nobody
 * answered" (and retry or fail over only on the latter).
 *
 * <pre>{@code
 * try {
 *     result = remote.score(record);
 * } catch (TransportException e) {
 *     result = embedded.score(record);   // fall back to in-process scoring
 * }
 * }</pre>
 */
public class TransportException extends UncheckedIOException {
    private static final long serialVersionUID = 1L;

    public TransportException(String message, IOException cause) {
        super(message, cause);
    }
}
