package io.pmmlkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Collects per-row results into the columns of a {@link ColumnBatch}. Not thread-safe. */
final class ResultColumns {
    private final List<FieldSpec> fields;
    private final Object[] columns;
    private final int rows;
    private final List<Integer> errorRows = new ArrayList<>();
    private final List<FieldError> errors = new ArrayList<>();
    private final List<Map<String, Integer>> dictionaries = new ArrayList<>();

    ResultColumns(List<FieldSpec> fields, int rows) {
        this.fields = fields;
        this.rows = rows;
        this.columns = new Object[fields.size()];
        fields.forEach(field -> dictionaries.add(new HashMap<>()));
        for (int i = 0; i < columns.length; i++) {
            if (fields.get(i).isNumeric()) {
                double[] column = new double[rows];
                Arrays.fill(column, Double.NaN);
                columns[i] = column;
            } else {
                int[] codes = new int[rows];
                Arrays.fill(codes, -1);
                columns[i] = codes;
            }
        }
    }

    void set(int row, ScoreResult result) {
        if (!result.isOk()) {
            for (FieldError error : result.errors()) {
                errorRows.add(row);
                errors.add(error);
            }
            return;
        }
        for (int i = 0; i < columns.length; i++) {
            Object value = result.get(fields.get(i).name());
            if (value == null) {
                continue;
            }
            if (columns[i] instanceof double[]) {
                ((double[]) columns[i])[row] = ((Number) value).doubleValue();
            } else {
                Map<String, Integer> dictionary = dictionaries.get(i);
                ((int[]) columns[i])[row] = dictionary.computeIfAbsent(String.valueOf(value), text -> dictionary.size());
            }
        }
    }

    ColumnBatch build() {
        Object[] built = new Object[columns.length];
        for (int i = 0; i < columns.length; i++) {
            built[i] = columns[i] instanceof double[] ? columns[i] : new CodedStrings((int[]) columns[i], decode(dictionaries.get(i)));
        }
        return new ColumnBatch(rows, fields, built, errorRows, errors);
    }

    private static String[] decode(Map<String, Integer> dictionary) {
        String[] values = new String[dictionary.size()];
        dictionary.forEach((text, code) -> values[code] = text);
        return values;
    }
}
