package io.pmmlkit.compiled;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.dmg.pmml.DataType;

/**
 * The columns a compiled model reads: one {@code double} per row for each input field the trees
 * test (after the MiningField treatments JPMML-Evaluator applies), and one for each value a model
 * chain passes on. A number is kept as it is ({@code float} fields hold float values, exactly); a
 * text value is the code of its string in a dictionary built from the values the model compares
 * it with ({@link #UNSEEN} for any other string). Missing is {@code NaN}. Not thread-safe: built
 * once while compiling, then only read.
 */
final class FeatureSpace {
    /** The code of a string no predicate of the model names: equal to nothing, unequal to all. */
    static final double UNSEEN = -2;

    private final List<String> names = new ArrayList<>();
    private final List<DataType> types = new ArrayList<>();
    private final List<Map<String, Integer>> dictionaries = new ArrayList<>();
    private final Map<String, Integer> byName = new HashMap<>();
    private int inputCount;

    /** Declares an input field; inputs come first, in the order the scorer fills them. */
    int addInput(String name, DataType type) {
        int index = add(name, type);
        inputCount = index + 1;
        return index;
    }

    /** Declares a value computed while scoring (an output a model chain passes on). */
    int addComputed(String name) {
        return add(name, DataType.DOUBLE);
    }

    private int add(String name, DataType type) {
        if (byName.containsKey(name)) {
            return byName.get(name);
        }
        names.add(name);
        types.add(type);
        dictionaries.add(isText(type) ? new HashMap<>() : null);
        byName.put(name, names.size() - 1);
        return names.size() - 1;
    }

    int index(String name) throws NotCompiled {
        Integer index = byName.get(name);
        if (index == null) {
            throw new NotCompiled("field '" + name + "' is neither an input field nor an output of an earlier segment"
                    + " (derived fields are not compiled)");
        }
        return index;
    }

    int size() {
        return names.size();
    }

    int inputCount() {
        return inputCount;
    }

    String name(int feature) {
        return names.get(feature);
    }

    boolean isText(int feature) {
        return dictionaries.get(feature) != null;
    }

    /**
     * A value a predicate compares {@code feature} with, in the feature's terms: the string's code
     * for text, else the number parsed in the field's own data type (a float field's threshold is
     * the float nearest the text, as JPMML-Evaluator parses it).
     */
    double constant(int feature, Object value) throws NotCompiled {
        Map<String, Integer> dictionary = dictionaries.get(feature);
        String text = String.valueOf(value);
        if (dictionary != null) {
            return dictionary.computeIfAbsent(text, key -> dictionary.size());
        }
        try {
            switch (types.get(feature)) {
                case FLOAT:
                    return value instanceof Number ? ((Number) value).floatValue() : Float.parseFloat(text);
                case DOUBLE:
                    return value instanceof Number ? ((Number) value).doubleValue() : Double.parseDouble(text);
                default:
                    throw new NotCompiled("field '" + name(feature) + "' has data type "
                            + types.get(feature).value() + " (compiled: float, double and string)");
            }
        } catch (NumberFormatException e) {
            throw new NotCompiled("field '" + name(feature) + "' is compared with '" + text + "', not a number");
        }
    }

    /** The column value of a prepared input value ({@code null} is missing). */
    double encode(int feature, Object value) {
        if (value == null) {
            return Double.NaN;
        }
        Map<String, Integer> dictionary = dictionaries.get(feature);
        if (dictionary != null) {
            Integer code = dictionary.get(value.toString());
            return code == null ? UNSEEN : code;
        }
        return ((Number) value).doubleValue();
    }

    /** The strings a text feature's predicates name, in code order. */
    List<String> words(int feature) {
        String[] words = new String[dictionaries.get(feature).size()];
        dictionaries.get(feature).forEach((word, code) -> words[code] = word);
        return List.of(words);
    }

    boolean isFloat(int feature) {
        return types.get(feature) == DataType.FLOAT;
    }

    private static boolean isText(DataType type) {
        return type == DataType.STRING;
    }
}
