package io.pmmlkit;

import io.pmmlkit.compiled.NotCompiled;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which engine scores a {@link Scorer}'s model: JPMML-Evaluator, or the compiled evaluator once it
 * is built and checked, now or in the background ({@link CompileMode}). Thread-safe: the engine is
 * one volatile reference, so a caller that reads it once per batch finishes the batch on the
 * engine it started with while the switch happens.
 *
 * <p>Background compiles run one at a time on a single daemon thread shared by every scorer of the
 * JVM: a service loading many models at start-up serves them all with JPMML-Evaluator at once and
 * compiles them in turn, rather than running as many checks as models against its request threads.
 * A scorer dropped before its turn is not compiled.
 */
final class EngineSwitch {
    static final String COMPILING = "jpmml: compiling and checking in the background";
    static final String TURNED_OFF = "jpmml: compiled evaluation turned off for this model";
    private static final Logger LOG = LoggerFactory.getLogger(EngineSwitch.class);
    private static final ExecutorService BACKGROUND = backgroundExecutor();

    /** Compiles and checks a model; throws {@link NotCompiled} with the reason when it cannot. */
    interface Compiler {
        CompiledScoring compile() throws NotCompiled;
    }

    private final String source;
    /** Held here, not by the queued task, so a scorer dropped before its turn frees its model. */
    private final Compiler compiler;
    private final CountDownLatch settled = new CountDownLatch(1);
    private volatile Engine current;

    private EngineSwitch(String source, Compiler compiler, Engine current) {
        this.source = source;
        this.compiler = compiler;
        this.current = current;
    }

    /**
     * The engine of a model named {@code source} in messages. {@code NOW} compiles on the calling
     * thread (an unexpected failure fails the load, as a bug should); {@code BACKGROUND} queues the
     * compile and returns at once.
     */
    static EngineSwitch start(CompileMode mode, String source, Compiler compiler) {
        if (mode == CompileMode.OFF) {
            return settled(source, new Engine(null, TURNED_OFF));
        }
        if (mode == CompileMode.NOW) {
            return settled(source, attempt(source, compiler));
        }
        EngineSwitch engine = new EngineSwitch(source, compiler, new Engine(null, COMPILING));
        WeakReference<EngineSwitch> owner = new WeakReference<>(engine);
        BACKGROUND.execute(() -> compileInBackground(owner));
        return engine;
    }

    /** The compiled evaluator, or null while (or when) JPMML-Evaluator scores. */
    CompiledScoring compiled() {
        return current.compiled;
    }

    /** {@code "compiled: ..."}, {@link #COMPILING}, or {@code "jpmml: <why not compiled>"}. */
    String describe() {
        return current.description;
    }

    /** Waits until a background compile has ended (or the timeout passed); returns {@link #describe()}. */
    String await(Duration timeout) throws InterruptedException {
        settled.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
        return describe();
    }

    private static EngineSwitch settled(String source, Engine engine) {
        EngineSwitch settled = new EngineSwitch(source, null, engine);
        settled.settled.countDown();
        return settled;
    }

    private static Engine attempt(String source, Compiler compiler) {
        try {
            CompiledScoring compiled = compiler.compile();
            return new Engine(compiled, compiled.describe());
        } catch (NotCompiled e) {
            LOG.info("Model '{}' is scored by JPMML-Evaluator, not compiled: {}", source, e.getMessage());
            return new Engine(null, "jpmml: " + e.getMessage());
        }
    }

    private static void compileInBackground(WeakReference<EngineSwitch> owner) {
        EngineSwitch engine = owner.get();
        if (engine == null) {
            return; // the scorer is gone: nobody would use its compiled form
        }
        long start = System.nanoTime();
        Engine result;
        try {
            result = attempt(engine.source, engine.compiler);
        } catch (Throwable e) { // OutOfMemoryError included: JPMML-Evaluator keeps serving
            LOG.warn("Model '{}' stays on JPMML-Evaluator: compiling it in the background failed", engine.source, e);
            result = new Engine(null, "jpmml: compiling in the background failed (" + e.getClass().getSimpleName()
                    + ": " + ModelLoader.describe(e) + ")");
        }
        engine.current = result;
        engine.settled.countDown();
        if (result.compiled != null) {
            LOG.info("Model '{}' now scores with the compiled evaluator, checked in the background in {} ms.",
                    engine.source, (System.nanoTime() - start) / 1_000_000L);
        }
    }

    private static ExecutorService backgroundExecutor() {
        ThreadPoolExecutor executor = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                task -> {
                    Thread thread = new Thread(task, "pmmlkit-compile");
                    thread.setDaemon(true);
                    return thread;
                });
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }

    /** An engine and its description, switched as one. */
    private static final class Engine {
        final CompiledScoring compiled;
        final String description;

        Engine(CompiledScoring compiled, String description) {
            this.compiled = compiled;
            this.description = description;
        }
    }
}
