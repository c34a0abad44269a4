package io.pmmlkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;

/** The one JSON mapper of the library: store files, and the service's bodies in and out. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() { };

    private Json() {
    }

    /** A JSON object; the caller says whose bytes were not one (a store file, a service answer). */
    static Map<String, Object> read(byte[] bytes) throws IOException {
        Map<String, Object> value = MAPPER.readValue(bytes, OBJECT);
        if (value == null) {
            throw new IOException("JSON null where an object was expected");
        }
        return value;
    }

    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new ScoringException("invalid_record", null, "The record cannot be written as JSON: "
                    + ModelLoader.describe(e), e);
        }
    }
}
