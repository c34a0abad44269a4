package io.pmmlkit;

import java.util.regex.Pattern;

/**
 * The naming rule of the store, shared with the Python side: a model name or alias is 1 to 64
 * characters of letters, digits, dot, underscore and dash, starting with a letter or digit. A name
 * that could escape the store ({@code ..}, {@code /}, an absolute path) never matches.
 *
 * <pre>{@code
 * String name = ModelNames.check("model name", request.getParameter("model")); // throws invalid_name
 * }</pre>
 */
public final class ModelNames {
    /** {@code ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$}, the same pattern as scoring/store.py. */
    public static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** A version number as the store writes it: 1 to 999999999, no leading zero. */
    public static final Pattern VERSION = Pattern.compile("[1-9][0-9]{0,8}");

    private ModelNames() {
    }

    /** True when a reference names a version number rather than an alias. */
    public static boolean isVersion(String ref) {
        return ref != null && VERSION.matcher(ref).matches();
    }

    /** Returns {@code name} when valid; throws {@code invalid_name} naming the rule otherwise. */
    public static String check(String kind, String name) {
        if (name == null || !NAME.matcher(name).matches() || name.contains("..")) {
            throw new ScoringException("invalid_name", kind, "The " + kind + " must match " + NAME.pattern()
                    + " (letters, digits, '.', '_', '-'; at most 64) and not contain '..'; got "
                    + InputPreparer.show(name) + ".");
        }
        return name;
    }
}
