package io.pmmlkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;

/** The one JSON mapper of the client side: objects in and out of the service's bodies. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<Map<String, Object>> OBJECT = new TypeReference<>() { };

    private Json() {
    }

    static Map<String, Object> read(byte[] body) {
        try {
            Map<String, Object> value = MAPPER.readValue(body, OBJECT);
            if (value == null) {
                throw new ScoringException("invalid_response", null, "The service answered JSON null; expected an object.");
            }
            return value;
        } catch (IOException e) {
            throw new ScoringException("invalid_response", null, "The service's answer is not a JSON object: "
                    + ModelLoader.describe(e), e);
        }
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
