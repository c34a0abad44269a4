package io.pmmlkit.compiled;

/** A {@link FlatTree} as a unit: the leaf's score, or its class and probabilities. */
final class TreeUnit extends Unit {
    private final FlatTree tree;

    TreeUnit(FlatTree tree, int classes) {
        super(classes);
        this.tree = tree;
    }

    @Override
    void run(double[][] x, int from, int to, Out out) {
        for (int row = from; row < to; row++) {
            int i = row - from;
            int leaf = tree.leaf(x, row);
            if (classes == 0) {
                out.value[i] = leaf < 0 ? Double.NaN : tree.score[leaf];
            } else if (leaf < 0 || tree.label[leaf] < 0) {
                out.setMissing(i);
            } else {
                out.label[i] = tree.label[leaf];
                out.listed[i] = tree.listed[leaf];
                System.arraycopy(tree.probabilities, leaf * classes, out.probabilities, i * classes, classes);
            }
        }
    }

    @Override
    int cost() {
        return 1;
    }
}
