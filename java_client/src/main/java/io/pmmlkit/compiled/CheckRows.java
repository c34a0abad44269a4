package io.pmmlkit.compiled;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Input rows that exercise a compiled model, for comparing it with JPMML-Evaluator: random rows
 * whose values are the model's own split points and their nearest neighbours (in the field's
 * float or double precision), every category a split names, an unseen category and missing
 * values; then, for each leaf those rows did not reach, a row built to follow that leaf's path
 * (its predicates true, the earlier siblings' false). Values are raw inputs in the evaluator's
 * input field order ({@code null} is missing), to be prepared like any other record.
 */
public final class CheckRows {
    private static final String UNSEEN = "pmmlkit-unseen-category";

    private final CompiledModel model;
    private final FeatureSpace features;
    private final List<List<Object>> candidates = new ArrayList<>();
    private final Random random;

    private CheckRows(CompiledModel model, long seed) {
        this.model = model;
        this.features = model.features();
        this.random = new Random(seed);
        for (int f = 0; f < features.inputCount(); f++) {
            candidates.add(candidates(f));
        }
    }

    /** {@code randomRows} random rows, then path rows for unreached leaves, at most {@code maxRows} in all. */
    public static List<Object[]> generate(CompiledModel model, int randomRows, int maxRows, long seed) {
        return new CheckRows(model, seed).rows(randomRows, maxRows);
    }

    private List<Object[]> rows(int randomRows, int maxRows) {
        List<Object[]> rows = new ArrayList<>();
        double[][] x = model.newColumns(Math.max(maxRows, randomRows));
        for (int r = 0; r < randomRows; r++) {
            add(rows, randomRow(), x);
        }
        for (FlatTree tree : model.flatTrees()) {
            boolean[] reached = new boolean[tree.size()];
            for (int r = 0; r < rows.size(); r++) {
                int leaf = tree.leaf(x, r);
                if (leaf >= 0) {
                    reached[leaf] = true;
                }
            }
            int[] parent = parents(tree);
            for (int node = 0; node < tree.size() && rows.size() < maxRows; node++) {
                if (tree.count[node] == 0 && !reached[node]) {
                    Object[] row = pathRow(tree, parent, node);
                    if (row != null) {
                        add(rows, row, x);
                    }
                }
            }
        }
        return rows;
    }

    private Object[] randomRow() {
        Object[] row = new Object[candidates.size()];
        for (int f = 0; f < row.length; f++) {
            List<Object> values = candidates.get(f);
            row[f] = values.get(random.nextInt(values.size()));
        }
        return row;
    }

    /** A row that reaches {@code leaf}, or null when no candidate values satisfy its path. */
    private Object[] pathRow(FlatTree tree, int[] parent, int leaf) {
        Object[] row = randomRow();
        List<int[]> wanted = new ArrayList<>();
        for (int node = leaf; node >= 0; node = parent[node]) {
            wanted.add(new int[] {node, Predicate.TRUE});
            if (parent[node] >= 0) {
                for (int sibling = tree.first[parent[node]]; sibling < node; sibling++) {
                    wanted.add(new int[] {sibling, Predicate.FALSE});
                }
            }
        }
        for (int[] want : wanted) {
            int node = want[0];
            if (tree.op[node] <= Predicate.NEVER) {
                continue;
            }
            int f = tree.feature[node];
            if (f >= features.inputCount()) {
                return null;
            }
            Object value = satisfying(tree, wanted, f);
            if (value == null) {
                return null;
            }
            row[f] = value;
        }
        return row;
    }

    private Object satisfying(FlatTree tree, List<int[]> wanted, int f) {
        List<Object> values = candidates.get(f);
        int start = 1; // values.get(0) is null (missing)
        if (!features.isText(f)) {
            // Numbers are sorted: start at the path's lower bound instead of scanning them all.
            double low = Double.NEGATIVE_INFINITY;
            for (int[] want : wanted) {
                int node = want[0];
                if (tree.feature[node] == f && want[1] == Predicate.TRUE
                        && (tree.op[node] == Predicate.GREATER_THAN || tree.op[node] == Predicate.GREATER_OR_EQUAL)) {
                    low = Math.max(low, tree.value[node]);
                } else if (tree.feature[node] == f && want[1] == Predicate.FALSE
                        && (tree.op[node] == Predicate.LESS_OR_EQUAL || tree.op[node] == Predicate.LESS_THAN)) {
                    low = Math.max(low, tree.value[node]);
                }
            }
            start = Math.max(1, lowerIndex(f, low));
        }
        for (int i = start; i < values.size(); i++) {
            double x = features.encode(f, values.get(i));
            boolean ok = true;
            for (int[] want : wanted) {
                int node = want[0];
                if (tree.op[node] > Predicate.NEVER && tree.feature[node] == f) {
                    ok &= Predicate.evaluate(tree.op[node], x, tree.value[node], tree.set[node]) == want[1];
                }
            }
            if (ok) {
                return values.get(i);
            }
            if (!features.isText(f) && i - start > 4) {
                return null; // the values just above the lower bound satisfy the path, or none does
            }
        }
        return null;
    }

    /** The index of the first candidate at or above {@code low} (numeric features; index 0 is null). */
    private int lowerIndex(int f, double low) {
        List<Object> values = candidates.get(f);
        int lo = 1;
        int hi = values.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if ((Double) values.get(mid) < low) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    private static int[] parents(FlatTree tree) {
        int[] parent = new int[tree.size()];
        parent[0] = -1;
        for (int node = 0; node < tree.size(); node++) {
            for (int child = tree.first[node]; child < tree.first[node] + tree.count[node]; child++) {
                parent[child] = node;
            }
        }
        return parent;
    }

    private void add(List<Object[]> rows, Object[] row, double[][] x) {
        for (int f = 0; f < features.inputCount(); f++) {
            x[f][rows.size()] = features.encode(f, row[f]);
        }
        rows.add(row);
    }

    private List<Object> candidates(int f) {
        List<Object> values = new ArrayList<>();
        values.add(null);
        if (features.isText(f)) {
            values.addAll(features.words(f));
            values.add(UNSEEN);
            return values;
        }
        java.util.TreeSet<Double> numbers = new java.util.TreeSet<>();
        for (FlatTree tree : model.flatTrees()) {
            for (int node = 0; node < tree.size(); node++) {
                if (tree.feature[node] == f && Predicate.comparesValue(tree.op[node])) {
                    addAround(numbers, tree.value[node], features.isFloat(f));
                    if (tree.set[node] != null) {
                        for (double member : tree.set[node]) {
                            addAround(numbers, member, features.isFloat(f));
                        }
                    }
                }
            }
        }
        if (numbers.isEmpty()) {
            numbers.add(0.0);
            numbers.add(1.0);
        }
        values.addAll(numbers);
        return values;
    }

    private static void addAround(java.util.Set<Double> numbers, double value, boolean single) {
        numbers.add(value);
        numbers.add(single ? (double) Math.nextUp((float) value) : Math.nextUp(value));
        numbers.add(single ? (double) Math.nextDown((float) value) : Math.nextDown(value));
    }
}
