import { isPlainObject } from '../task-shape.js';
import { goStringify } from './go-json.js';
import { scanContainer } from './json-scan.js';

export { isPlainObject };

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Decides where keys new to an object go, given the kept keys in their old order. */
export type KeyPlacer = (kept: string[], added: string[]) => string[];

const appendNewKeys: KeyPlacer = (kept, added) => [...kept, ...added];

/**
 * JSON text for `next`, reusing the bytes of `oldRaw` (the text of `old`) for every part whose
 * value did not change: members keep their order, numbers their spelling, strings their escapes.
 * One walk: a container whose members all come out as they were is returned as it was (spacing
 * included), so equality is not checked first in a separate pass. A value of `next` that is the
 * very object of `old` is taken as it was without a walk: `old` is what `oldRaw` parses to, and a
 * change builds new objects around what it keeps (see Mutation), so only what it changed is read.
 */
export function spliceJson(
  oldRaw: string,
  old: unknown,
  next: unknown,
  place: KeyPlacer = appendNewKeys,
): string {
  if (old === next) return oldRaw;
  if (isPlainObject(old) && isPlainObject(next)) return spliceObject(oldRaw, old, next, place);
  if (Array.isArray(old) && Array.isArray(next)) {
    const members = scanContainer(oldRaw);
    if (!members || members.length !== old.length) return deepEqual(old, next) ? oldRaw : goStringify(next);
    let same = old.length === next.length;
    const parts = next.map((value, i) => {
      const member = members[i];
      if (!member || i >= old.length) return goStringify(value);
      const text = spliceJson(member.raw, old[i], value);
      if (text !== member.raw) same = false;
      return text;
    });
    return same ? oldRaw : `[${parts.join(',')}]`;
  }
  return deepEqual(old, next) ? oldRaw : goStringify(next);
}

function spliceObject(
  oldRaw: string,
  old: Record<string, unknown>,
  next: Record<string, unknown>,
  place: KeyPlacer,
): string {
  const members = scanContainer(oldRaw);
  if (!members) return deepEqual(old, next) ? oldRaw : goStringify(next);
  // JSON.parse keeps the last of duplicate keys; so does this, at the first one's place.
  const rawByKey = new Map<string, string>();
  const keyText = new Map<string, string>();
  const oldKeys: string[] = [];
  for (const m of members) {
    const key = m.key ?? '';
    if (!rawByKey.has(key)) {
      oldKeys.push(key);
      keyText.set(key, m.rawKey ?? goStringify(key));
    }
    rawByKey.set(key, m.raw);
  }
  const kept = oldKeys.filter((k) => next[k] !== undefined);
  const added: string[] = [];
  for (const k in next) if (next[k] !== undefined && !rawByKey.has(k)) added.push(k);
  let same = kept.length === oldKeys.length && added.length === 0;
  const parts = place(kept, added).map((key) => {
    const raw = rawByKey.get(key);
    if (raw === undefined) return `${goStringify(key)}:${goStringify(next[key])}`;
    const text = spliceJson(raw, old[key], next[key]);
    if (text !== raw) same = false;
    return `${keyText.get(key)}:${text}`;
  });
  return same ? oldRaw : `{${parts.join(',')}}`;
}
