package io.pmmlkit.compiled;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dmg.pmml.tree.Node;
import org.dmg.pmml.tree.TreeModel;

/**
 * One PMML TreeModel as flat arrays: node {@code i}'s predicate ({@code op}, {@code feature},
 * {@code value}, {@code set}), its children {@code first[i] .. first[i] + count[i] - 1} (siblings
 * are contiguous, in document order), its default child and what it predicts. {@link #leaf} walks a
 * row down with PMML's rules: the first child whose predicate is true is taken; an unknown predicate
 * (missing value) is handled by the tree's missingValueStrategy, no true child by its
 * noTrueChildStrategy. Immutable once built; thread-safe.
 */
final class FlatTree {
    /** What {@link #leaf} returns when the tree predicts nothing for the row. */
    static final int NO_NODE = -1;

    private final byte missingStrategy;
    private final boolean returnLastOnNoTrueChild;
    final byte[] op;
    final int[] feature;
    final double[] value;
    final double[][] set;
    final int[] first;
    final int[] count;
    final int[] defaultChild;
    /** Regression: the node's score ({@code NaN} when it has none). */
    final double[] score;
    /** Classification: the class index of the node's score ({@code -1} when none). */
    final int[] label;
    /** Classification: {@code classes} probabilities per node, from its ScoreDistributions. */
    final double[] probabilities;
    /** Classification: the classes a node's ScoreDistributions list, as bits (class {@code c}: bit {@code c}). */
    final long[] listed;

    private static final byte NONE = 0;
    private static final byte NULL_PREDICTION = 1;
    private static final byte LAST_PREDICTION = 2;
    private static final byte DEFAULT_CHILD = 3;

    private FlatTree(int size, int classes, byte missingStrategy, boolean returnLast) {
        this.missingStrategy = missingStrategy;
        this.returnLastOnNoTrueChild = returnLast;
        op = new byte[size];
        feature = new int[size];
        value = new double[size];
        set = new double[size][];
        first = new int[size];
        count = new int[size];
        defaultChild = new int[size];
        score = new double[size];
        label = new int[size];
        probabilities = new double[classes > 0 ? size * classes : 0];
        listed = new long[size];
        Arrays.fill(defaultChild, NO_NODE);
    }

    int size() {
        return op.length;
    }

    /** The node {@code row} ends in, or {@link #NO_NODE}. */
    int leaf(double[][] x, int row) {
        int node = 0;
        if (test(node, x, row) != Predicate.TRUE) {
            return NO_NODE;
        }
        while (true) {
            int n = count[node];
            if (n == 0) {
                return node;
            }
            int next = NO_NODE;
            for (int child = first[node], end = child + n; child < end; child++) {
                int outcome = test(child, x, row);
                if (outcome == Predicate.TRUE) {
                    next = child;
                    break;
                }
                if (outcome == Predicate.UNKNOWN) {
                    if (missingStrategy == NULL_PREDICTION) {
                        return NO_NODE;
                    }
                    if (missingStrategy == LAST_PREDICTION) {
                        return node;
                    }
                    if (missingStrategy == DEFAULT_CHILD) {
                        next = defaultChild[node];
                        break;
                    }
                }
            }
            if (next == NO_NODE) {
                return returnLastOnNoTrueChild ? node : NO_NODE;
            }
            node = next;
        }
    }

    private int test(int node, double[][] x, int row) {
        byte o = op[node];
        if (o <= Predicate.NEVER) {
            return o == Predicate.ALWAYS ? Predicate.TRUE : Predicate.FALSE;
        }
        return Predicate.evaluate(o, x[feature[node]][row], value[node], set[node]);
    }

    /**
     * Flattens {@code model}; {@code classes} are the class labels (as strings) of a classification
     * tree, null for regression.
     */
    static FlatTree compile(TreeModel model, FeatureSpace features, List<String> classes) throws NotCompiled {
        byte strategy = missingStrategy(model.getMissingValueStrategy());
        boolean returnLast = model.getNoTrueChildStrategy() == TreeModel.NoTrueChildStrategy.RETURN_LAST_PREDICTION;
        List<Node> order = new ArrayList<>();
        Map<Node, Integer> firstChild = new HashMap<>();
        Deque<Node> queue = new ArrayDeque<>(List.of(model.requireNode()));
        order.add(model.requireNode());
        while (!queue.isEmpty()) {
            Node node = queue.poll();
            if (node.hasNodes()) {
                firstChild.put(node, order.size());
                order.addAll(node.getNodes());
                queue.addAll(node.getNodes());
            }
        }
        int k = classes == null ? 0 : classes.size();
        FlatTree tree = new FlatTree(order.size(), k, strategy, returnLast);
        for (int i = 0; i < order.size(); i++) {
            Node node = order.get(i);
            Predicate predicate = Predicate.compile(node.requirePredicate(), features);
            tree.op[i] = predicate.op;
            tree.feature[i] = predicate.feature;
            tree.value[i] = predicate.value;
            tree.set[i] = predicate.set;
            if (node.hasNodes()) {
                tree.first[i] = firstChild.get(node);
                tree.count[i] = node.getNodes().size();
                tree.defaultChild[i] = defaultChild(node, tree.first[i], strategy);
            }
            if (node.getEmbeddedModel() != null || node.getPartition() != null) {
                throw new NotCompiled("a tree node with an embedded model or partition is not compiled");
            }
            NodePayload.fill(tree, i, node, classes);
        }
        return tree;
    }

    private static int defaultChild(Node node, int first, byte strategy) throws NotCompiled {
        Object id = node.getDefaultChild();
        if (id == null) {
            if (strategy == DEFAULT_CHILD) {
                throw new NotCompiled("a node without defaultChild under missingValueStrategy defaultChild");
            }
            return NO_NODE;
        }
        List<Node> children = node.getNodes();
        for (int c = 0; c < children.size(); c++) {
            // JPMML-Evaluator's NodeResolver replaces the id with the child node itself.
            Node child = children.get(c);
            if (child == id || (!(id instanceof Node) && id.toString().equals(String.valueOf(child.getId())))) {
                return first + c;
            }
        }
        throw new NotCompiled("a defaultChild that is not a child of its node");
    }

    private static byte missingStrategy(TreeModel.MissingValueStrategy strategy) throws NotCompiled {
        switch (strategy) {
            case NONE:
                return NONE;
            case NULL_PREDICTION:
                return NULL_PREDICTION;
            case LAST_PREDICTION:
                return LAST_PREDICTION;
            case DEFAULT_CHILD:
                return DEFAULT_CHILD;
            default:
                throw new NotCompiled("missingValueStrategy " + strategy.value() + " is not compiled");
        }
    }
}
