package causalflow.peers;

/** The few bits of JSON output this project needs, escaped as `JSON.stringify` escapes. */
final class Json {
  private Json() {}

  /** Appends `"key":"value"` (no separator) and returns the builder. */
  static StringBuilder field(StringBuilder out, String key, String value) {
    out.append('"').append(key).append("\":");
    return string(out, value);
  }

  /** Appends a JSON string literal. */
  static StringBuilder string(StringBuilder out, String value) {
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
        }
      }
    }
    return out.append('"');
  }

  /** A number as JSON prints it: integers without a fraction, NaN and infinities as null. */
  static String number(double value) {
    if (Double.isNaN(value) || Double.isInfinite(value)) return "null";
    if (value == Math.rint(value) && Math.abs(value) < 1e15) return Long.toString((long) value);
    return Double.toString(value);
  }
}
