package io.pmmlkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One record's result as JSON bytes, the answer of {@link Scorer#scoreValues}: a bridge from
 * another language (the Python service) then reads a whole result in one call instead of one
 * call per result field. Either {@code {"values":[...]}}, the result fields' values in the
 * scorer's result field order, or {@code {"errors":[[field, code, message], ...]}}.
 *
 * <p>A numeric field's value is a JSON number, the double it holds (a float result written as
 * its double value, the number a {@link ColumnBatch} column holds) or null; any other field's
 * value is its text ({@code String.valueOf}, as a coded text column holds it) or null.
 */
final class RecordAnswer {
    private RecordAnswer() {
    }

    static byte[] encode(ScoreResult result, List<FieldSpec> fields) {
        Map<String, Object> answer = new LinkedHashMap<>(2);
        if (!result.isOk()) {
            List<List<String>> errors = new ArrayList<>(result.errors().size());
            for (FieldError error : result.errors()) {
                errors.add(java.util.Arrays.asList(error.field(), error.code(), error.message()));
            }
            answer.put("errors", errors);
            return Json.write(answer);
        }
        List<Object> values = new ArrayList<>(fields.size());
        for (FieldSpec field : fields) {
            Object value = result.get(field.name());
            if (value == null) {
                values.add(null);
            } else if (field.isNumeric()) {
                double number = ((Number) value).doubleValue();
                values.add(Double.isFinite(number) ? (Object) number : null);
            } else {
                values.add(String.valueOf(value));
            }
        }
        answer.put("values", values);
        return Json.write(answer);
    }
}
