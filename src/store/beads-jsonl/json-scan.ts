/**
 * A scanner for JSON text already known to be valid: finds the raw text of each member of an
 * object or each element of an array, so a writer can reuse the bytes of unchanged parts.
 */

export interface RawMember {
  /** The member's key (undefined for array elements). */
  key: string | undefined;
  /** Raw text of the value, exactly as in the source. */
  raw: string;
  /** Raw text of the key with its quotes, as in the source (undefined for array elements). */
  rawKey?: string;
}

function skipWhitespace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

function skipString(text: string, i: number): number {
  // text[i] is the opening quote
  i++;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i++;
  }
  return i;
}

/** The index just past the value starting at `i`. */
function skipValue(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x22) return skipString(text, i);
  if (c === 0x7b || c === 0x5b) {
    let depth = 0;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i = skipString(text, i);
        continue;
      }
      if (ch === 0x7b || ch === 0x5b) depth++;
      else if (ch === 0x7d || ch === 0x5d) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  // A number, true, false or null: up to the next separator.
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x2c || ch === 0x7d || ch === 0x5d || ch === 0x20 || ch === 0x09 || ch === 0x0d || ch === 0x0a)
      break;
    i++;
  }
  return i;
}

/** Members of the object or array whose text is `text` (surrounding whitespace allowed). */
export function scanContainer(text: string): RawMember[] | undefined {
  let i = skipWhitespace(text, 0);
  const open = text[i];
  if (open !== '{' && open !== '[') return undefined;
  const close = open === '{' ? '}' : ']';
  const members: RawMember[] = [];
  i = skipWhitespace(text, i + 1);
  if (text[i] === close) return members;
  while (i < text.length) {
    let key: string | undefined;
    let rawKey: string | undefined;
    if (open === '{') {
      const keyEnd = skipString(text, i);
      rawKey = text.slice(i, keyEnd);
      // Most keys have no escapes: their text between the quotes is the key.
      const inner = rawKey.slice(1, -1);
      key = inner.includes('\\') ? (JSON.parse(rawKey) as string) : inner;
      i = skipWhitespace(text, keyEnd);
      i = skipWhitespace(text, i + 1); // past ':'
    }
    const end = skipValue(text, i);
    members.push(
      rawKey === undefined ? { key, raw: text.slice(i, end) } : { key, raw: text.slice(i, end), rawKey },
    );
    i = skipWhitespace(text, end);
    if (text[i] !== ',') break;
    i = skipWhitespace(text, i + 1);
  }
  return members;
}

/**
 * Whether the JSON text in `bytes` nests objects and arrays deeper than `limit`, in one pass
 * over the bytes (brackets inside strings do not count). Cheap enough to run before JSON.parse,
 * so a line nested 100,000 deep is turned away before anything recursive walks it.
 */
export function nestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x22) {
      // Jump to the closing quote: one not preceded by an odd run of backslashes.
      for (;;) {
        const close = bytes.indexOf(0x22, i + 1);
        if (close === -1) return false;
        let slashes = 0;
        while (bytes[close - 1 - slashes] === 0x5c) slashes++;
        i = close;
        if (slashes % 2 === 0) break;
      }
    } else if (b === 0x7b || b === 0x5b) {
      if (++depth > limit) return true;
    } else if (b === 0x7d || b === 0x5d) depth--;
  }
  return false;
}
