/**
 * JSON text as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped, other
 * non-ASCII raw. `JSON.stringify` escapes none of these, so its output is post-processed (these
 * characters can only occur inside strings in JSON text, so a global replace is safe).
 */
const goEscapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

export function goEscape(jsonText: string): string {
  return jsonText.replace(/[<>&\u2028\u2029]/g, (c) => goEscapes[c] ?? c);
}

/** Compact JSON of a value with Go's escaping. */
export function goStringify(value: unknown): string {
  return goEscape(JSON.stringify(value) ?? 'null');
}
