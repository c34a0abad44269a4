package io.pmmlkit.compiled;

import java.util.List;
import org.dmg.pmml.ScoreDistribution;
import org.dmg.pmml.tree.Node;

/** Reads what a tree node predicts into its {@link FlatTree} slots. */
final class NodePayload {
    private NodePayload() {
    }

    static void fill(FlatTree tree, int i, Node node, List<String> classes) throws NotCompiled {
        Object score = node.getScore();
        if (classes == null) {
            tree.score[i] = score == null ? Double.NaN : number(score);
            tree.label[i] = -1;
            return;
        }
        tree.score[i] = Double.NaN;
        tree.label[i] = score == null ? -1 : classIndex(classes, score);
        int k = classes.size();
        if (!node.hasScoreDistributions()) {
            java.util.Arrays.fill(tree.probabilities, i * k, i * k + k, Double.NaN);
            if (score != null && !node.hasNodes()) {
                throw new NotCompiled("a classification leaf without ScoreDistributions (no probabilities)");
            }
            return;
        }
        // JPMML-Evaluator: probabilities if the first distribution has one, else record counts;
        // summed from 0 in document order, each divided by the sum unless it is exactly 1.
        List<ScoreDistribution> distributions = node.getScoreDistributions();
        boolean given = distributions.get(0).getProbability() != null;
        double sum = 0;
        int previous = -1;
        for (ScoreDistribution distribution : distributions) {
            int c = classIndex(classes, distribution.requireValue());
            if (c <= previous || k > Long.SIZE) {
                // The winner of an exact tie is the class seen first; compiled, that is the lowest index.
                throw new NotCompiled("ScoreDistributions not in the order of the target's classes");
            }
            previous = c;
            double x = number(given ? distribution.requireProbability() : distribution.requireRecordCount());
            tree.probabilities[i * k + c] = x;
            tree.listed[i] |= 1L << c;
            sum += x;
        }
        if (sum == 0) {
            throw new NotCompiled("a node whose ScoreDistributions sum to 0");
        }
        if (sum != 1) {
            for (int c = 0; c < k; c++) {
                tree.probabilities[i * k + c] /= sum;
            }
        }
    }

    static int classIndex(List<String> classes, Object value) throws NotCompiled {
        int index = classes.indexOf(String.valueOf(value));
        if (index < 0) {
            throw new NotCompiled("a tree predicts '" + value + "', which is not one of the target's classes " + classes);
        }
        return index;
    }

    static double number(Object value) {
        return value instanceof Number ? ((Number) value).doubleValue() : Double.parseDouble(value.toString());
    }
}
