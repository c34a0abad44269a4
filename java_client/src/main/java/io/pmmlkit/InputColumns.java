package io.pmmlkit;

import java.util.AbstractMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** Columnar input of {@link Scorer#scoreColumns}, read one row at a time as a record view. */
final class InputColumns {
    private final Map<String, Object> columns;
    private final int rows;

    private InputColumns(Map<String, Object> columns, int rows) {
        this.columns = columns;
        this.rows = rows;
    }

    static InputColumns of(String[] names, Object[] columns) {
        if (names.length != columns.length) {
            throw new IllegalArgumentException(names.length + " column names for " + columns.length + " columns");
        }
        Map<String, Object> byName = new HashMap<>();
        int rows = -1;
        for (int i = 0; i < names.length; i++) {
            int length = length(names[i], columns[i]);
            if (rows >= 0 && length != rows) {
                throw new ScoringException("invalid_batch", names[i], "Column '" + names[i] + "' has "
                        + length + " values; the columns before it have " + rows + ".");
            }
            rows = length;
            byName.put(names[i], columns[i]);
        }
        return new InputColumns(byName, Math.max(rows, 0));
    }

    int rows() {
        return rows;
    }

    /** A read-only record view of one row; only {@code get} is meaningful. */
    Map<String, Object> row(int row) {
        return new AbstractMap<>() {
            @Override
            public Object get(Object name) {
                return value(columns.get(name), row);
            }

            @Override
            public Set<Entry<String, Object>> entrySet() {
                throw new UnsupportedOperationException("a row view only answers get()");
            }
        };
    }

    /** The column named {@code name}, or null when the batch has none (every value missing). */
    Object column(String name) {
        return columns.get(name);
    }

    /** Value {@code row} of a column ({@code null} is missing). */
    static Object value(Object column, int row) {
        if (column instanceof double[]) {
            double value = ((double[]) column)[row];
            return Double.isNaN(value) ? null : value;
        }
        if (column instanceof long[]) {
            return ((long[]) column)[row];
        }
        if (column instanceof CodedStrings) {
            return ((CodedStrings) column).get(row);
        }
        if (column == null) {
            return null;
        }
        Object value = ((Object[]) column)[row];
        return value instanceof Double && ((Double) value).isNaN() ? null : value;
    }

    private static int length(String name, Object column) {
        if (column instanceof double[]) {
            return ((double[]) column).length;
        }
        if (column instanceof long[]) {
            return ((long[]) column).length;
        }
        if (column instanceof Object[]) {
            return ((Object[]) column).length;
        }
        if (column instanceof CodedStrings) {
            return ((CodedStrings) column).size();
        }
        throw new ScoringException("invalid_batch", name, "Column '" + name
                + "' must be an array of doubles, longs, strings or objects, or coded strings.");
    }
}
