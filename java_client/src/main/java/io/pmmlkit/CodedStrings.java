package io.pmmlkit;

import java.util.Objects;

/**
 * A column of text values, dictionary-encoded: {@code codes[row]} indexes {@code dictionary}, and
 * {@code -1} marks a missing value. {@link Scorer#scoreColumns} takes and returns text columns in
 * this form so that a caller across JNI (the Python bridge) moves two arrays per column instead of
 * one string object per row. Immutable after construction; thread-safe.
 *
 * <pre>{@code
 * CodedStrings colors = new CodedStrings(new int[] {0, 1, -1, 0}, new String[] {"red", "blue"});
 * String[] values = colors.toArray();   // red, blue, null, red
 * }</pre>
 */
public final class CodedStrings {
    private final int[] codes;
    private final String[] dictionary;

    public CodedStrings(int[] codes, String[] dictionary) {
        this.codes = Objects.requireNonNull(codes, "codes");
        this.dictionary = Objects.requireNonNull(dictionary, "dictionary");
        for (int code : codes) {
            if (code < -1 || code >= dictionary.length) {
                throw new IllegalArgumentException("code " + code + " outside the dictionary of " + dictionary.length);
            }
        }
    }

    public int size() {
        return codes.length;
    }

    /** The value of {@code row}, or {@code null} when it is missing. */
    public String get(int row) {
        int code = codes[row];
        return code < 0 ? null : dictionary[code];
    }

    public int[] codes() {
        return codes.clone();
    }

    public String[] dictionary() {
        return dictionary.clone();
    }

    /** The decoded values, {@code null} for missing ones. */
    public String[] toArray() {
        String[] values = new String[codes.length];
        for (int row = 0; row < codes.length; row++) {
            values[row] = get(row);
        }
        return values;
    }
}
