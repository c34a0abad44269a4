package io.pmmlkit.compiled;

/**
 * A MiningModel's segmentation (every segment's predicate {@code <True/>}) over compiled units:
 * {@code sum}, {@code average}, {@code weightedSum}, {@code weightedAverage} of regression values,
 * {@code average} and {@code weightedAverage} of class probabilities, and {@code modelChain}, where
 * each segment's output values become columns the later segments read and the last segment
 * answers. A segment without a prediction makes the row's prediction missing
 * ({@code missingPredictionTreatment="returnMissing"}).
 */
final class Segments extends Unit {
    enum Method { SUM, AVERAGE, WEIGHTED_SUM, WEIGHTED_AVERAGE, MODEL_CHAIN }

    private final Method method;
    private final Unit[] segments;
    private final double[] weights;
    /** Model chains: per segment, the columns its predicted value is written to. */
    private final int[][] chainColumns;

    Segments(Method method, Unit[] segments, double[] weights, int[][] chainColumns, int classes) {
        super(classes);
        this.method = method;
        this.segments = segments;
        this.weights = weights;
        this.chainColumns = chainColumns;
    }

    @Override
    void run(double[][] x, int from, int to, Out out) {
        if (method == Method.MODEL_CHAIN) {
            chain(x, from, to, out);
        } else if (classes == 0) {
            values(x, from, to, out);
        } else {
            probabilities(x, from, to, out);
        }
    }

    private void chain(double[][] x, int from, int to, Out out) {
        int last = segments.length - 1;
        for (int s = 0; s < last; s++) {
            Out part = new Out(to - from, segments[s].classes);
            segments[s].run(x, from, to, part);
            for (int column : chainColumns[s]) {
                System.arraycopy(part.value, 0, x[column], from, to - from);
            }
        }
        segments[last].run(x, from, to, out);
    }

    private void values(double[][] x, int from, int to, Out out) {
        int rows = to - from;
        double[] sum = out.value;
        java.util.Arrays.fill(sum, 0, rows, 0.0);
        Out part = new Out(rows, 0);
        boolean weighted = method == Method.WEIGHTED_SUM || method == Method.WEIGHTED_AVERAGE;
        for (int s = 0; s < segments.length; s++) {
            segments[s].run(x, from, to, part);
            double weight = weights[s];
            for (int i = 0; i < rows; i++) {
                // NaN (no prediction) propagates: the row's result is missing.
                sum[i] += weighted ? weight * part.value[i] : part.value[i];
            }
        }
        if (method == Method.AVERAGE || method == Method.WEIGHTED_AVERAGE) {
            double denominator = method == Method.AVERAGE ? segments.length : totalWeight();
            for (int i = 0; i < rows; i++) {
                sum[i] /= denominator;
            }
        }
    }

    private void probabilities(double[][] x, int from, int to, Out out) {
        int rows = to - from;
        double[] sum = out.probabilities;
        java.util.Arrays.fill(sum, 0, rows * classes, 0.0);
        java.util.Arrays.fill(out.label, 0, rows, 0);
        Out part = new Out(rows, classes);
        boolean weighted = method == Method.WEIGHTED_AVERAGE;
        // JPMML-Evaluator breaks an exact tie for the first class seen: segment by segment, each
        // leaf's classes in order. seen/order replay that per row.
        long[] seen = out.listed;
        java.util.Arrays.fill(seen, 0, rows, 0L);
        byte[] order = new byte[rows * classes];
        byte[] known = new byte[rows];
        long all = classes == Long.SIZE ? -1L : (1L << classes) - 1;
        for (int s = 0; s < segments.length; s++) {
            segments[s].run(x, from, to, part);
            double weight = weights[s];
            for (int i = 0; i < rows; i++) {
                if (part.label[i] < 0) {
                    out.label[i] = -1;
                    continue;
                }
                if (seen[i] != all) {
                    long fresh = part.listed[i] & ~seen[i];
                    seen[i] |= fresh;
                    for (; fresh != 0; fresh &= fresh - 1) {
                        order[i * classes + known[i]++] = (byte) Long.numberOfTrailingZeros(fresh);
                    }
                }
                for (int c = i * classes, end = c + classes; c < end; c++) {
                    sum[c] += weighted ? weight * part.probabilities[c] : part.probabilities[c];
                }
            }
        }
        double denominator = weighted ? totalWeight() : segments.length;
        for (int i = 0; i < rows; i++) {
            if (out.label[i] < 0) {
                out.setMissing(i);
                continue;
            }
            for (int c = i * classes; c < i * classes + classes; c++) {
                sum[c] /= denominator;
            }
            int best = order[i * classes];
            for (int n = 1; n < known[i]; n++) {
                int c = order[i * classes + n];
                if (sum[i * classes + c] > sum[i * classes + best]) {
                    best = c;
                }
            }
            out.label[i] = best;
        }
    }

    private double totalWeight() {
        double total = 0;
        for (double weight : weights) {
            total += weight;
        }
        return total;
    }

    @Override
    int cost() {
        int cost = 0;
        for (Unit segment : segments) {
            cost += segment.cost();
        }
        return cost;
    }
}
