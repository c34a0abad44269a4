package io.pmmlkit.compiled;

/** A regression unit's prediction through its PMML Target: {@code value * factor + constant}. */
final class Rescaled extends Unit {
    private final Unit inner;
    private final double factor;
    private final double constant;

    Rescaled(Unit inner, double factor, double constant) {
        super(0);
        this.inner = inner;
        this.factor = factor;
        this.constant = constant;
    }

    @Override
    void run(double[][] x, int from, int to, Out out) {
        inner.run(x, from, to, out);
        for (int i = 0; i < to - from; i++) {
            out.value[i] = out.value[i] * factor + constant;
        }
    }

    @Override
    int cost() {
        return inner.cost();
    }
}
