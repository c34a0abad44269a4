package io.pmmlkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Collects per-row results into the columns of a {@link ColumnBatch}. Not thread-safe. */
final class ResultColumns {
    private final List<FieldSpec> fields;
    private final Object[] columns;
    private final int rows;
    private final List<Integer> errorRows = new ArrayList<>();
    private final List<FieldError> errors = new ArrayList<>();

    ResultColumns(List<FieldSpec> fields, int rows) {
        this.fields = fields;
        this.rows = rows;
        this.columns = new Object[fields.size()];
        for (int i = 0; i < columns.length; i++) {
            if (fields.get(i).isNumeric()) {
                double[] column = new double[rows];
                Arrays.fill(column, Double.NaN);
                columns[i] = column;
            } else {
                columns[i] = new String[rows];
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
                ((String[]) columns[i])[row] = String.valueOf(value);
            }
        }
    }

    ColumnBatch build() {
        return new ColumnBatch(rows, fields, columns, errorRows, errors);
    }
}
