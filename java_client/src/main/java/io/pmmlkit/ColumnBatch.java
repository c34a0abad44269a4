package io.pmmlkit;

import java.util.List;

/**
 * The result of {@link Scorer#scoreColumns}: one array per result field and the problems of the
 * rows that did not score, all as flat arrays so that a caller across JNI (the Python bridge)
 * converts each array in one call instead of one call per value.
 *
 * <p>A numeric result field is a {@code double[]} ({@code NaN} where a row has no value), any other
 * a {@link CodedStrings} (code {@code -1} where a row has no value). Errors are parallel arrays: row index,
 * field (may be null), code and message. Immutable after construction; thread-safe.
 *
 * <pre>{@code
 * ColumnBatch batch = scorer.scoreColumns(new String[] {"age"}, new Object[] {new double[] {42, 51}});
 * double[] probabilities = (double[]) batch.column(1);
 * }</pre>
 */
public final class ColumnBatch {
    private final int rows;
    private final List<FieldSpec> fields;
    private final Object[] columns;
    private final int[] errorRows;
    private final String[] errorFields;
    private final String[] errorCodes;
    private final String[] errorMessages;

    ColumnBatch(int rows, List<FieldSpec> fields, Object[] columns, List<Integer> errorRows,
            List<FieldError> errors) {
        this.rows = rows;
        this.fields = fields;
        this.columns = columns;
        this.errorRows = errorRows.stream().mapToInt(Integer::intValue).toArray();
        this.errorFields = errors.stream().map(FieldError::field).toArray(String[]::new);
        this.errorCodes = errors.stream().map(FieldError::code).toArray(String[]::new);
        this.errorMessages = errors.stream().map(FieldError::message).toArray(String[]::new);
    }

    public int rows() {
        return rows;
    }

    public String[] names() {
        return fields.stream().map(FieldSpec::name).toArray(String[]::new);
    }

    /** The result fields, in the order of {@link #column(int)}. */
    public List<FieldSpec> fields() {
        return fields;
    }

    /** Column {@code i}: a {@code double[]} for a numeric field, else a {@link CodedStrings}. */
    public Object column(int i) {
        Object column = columns[i];
        return column instanceof double[] ? ((double[]) column).clone() : column;
    }

    public int[] errorRows() {
        return errorRows.clone();
    }

    public String[] errorFields() {
        return errorFields.clone();
    }

    public String[] errorCodes() {
        return errorCodes.clone();
    }

    public String[] errorMessages() {
        return errorMessages.clone();
    }
}
