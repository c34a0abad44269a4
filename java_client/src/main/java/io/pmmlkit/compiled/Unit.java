package io.pmmlkit.compiled;

import java.util.Arrays;

/**
 * One compiled PMML model (a tree, a segmentation, a regression) that scores a range of rows at a
 * time: rows {@code from .. to - 1} of the feature columns {@code x} into slots {@code 0 .. to - from}
 * of an {@link Out}. Regression units fill {@code value} ({@code NaN}: no prediction);
 * classification units fill {@code label} (class index, {@code -1}: no prediction) and
 * {@code classes} probabilities per row. Immutable; thread-safe (scratch space is per call).
 */
abstract class Unit {
    /** Number of classes, 0 for regression. */
    final int classes;

    Unit(int classes) {
        this.classes = classes;
    }

    abstract void run(double[][] x, int from, int to, Out out);

    /** A rough cost per row (trees walked), to decide when a batch is worth splitting. */
    abstract int cost();

    /** Scratch results for a range of rows. */
    static final class Out {
        final int classes;
        final double[] value;
        final int[] label;
        final double[] probabilities;
        /** Classification: the classes each row's prediction lists, as bits (see FlatTree.listed). */
        final long[] listed;

        Out(int rows, int classes) {
            this.listed = new long[classes > 0 ? rows : 0];
            this.classes = classes;
            this.value = new double[rows];
            this.label = new int[rows];
            this.probabilities = new double[rows * classes];
        }

        boolean missing(int i) {
            return classes == 0 ? Double.isNaN(value[i]) : label[i] < 0;
        }

        void setMissing(int i) {
            value[i] = Double.NaN;
            label[i] = -1;
            if (classes > 0) {
                Arrays.fill(probabilities, i * classes, i * classes + classes, Double.NaN);
            }
        }
    }
}
