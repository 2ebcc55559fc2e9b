/** Finds the line of a key path in a parsed YAML document, so problems can say where they are. */
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { ConfigPath } from './problems.js';

export interface SourcePosition {
  line: number;
  column: number;
}

/**
 * The position of the last key of `path` (the key itself for a map entry, the item for a list
 * entry), or of the closest enclosing key that exists when the path goes past the document.
 */
export function locate(doc: Document, lineCounter: LineCounter, path: ConfigPath): SourcePosition {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(part));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** The key path of the first map key on each line (1-based), for problems found by line. */
export function keyPathsByLine(doc: Document, lineCounter: LineCounter): Map<number, ConfigPath> {
  const paths = new Map<number, ConfigPath>();
  const walk = (node: unknown, path: ConfigPath): void => {
    const items = isMap(node) || isSeq(node) ? node.items : [];
    for (const [index, item] of items.entries()) {
      if (isPair(item)) {
        const key = keyText(item.key);
        const start = rangeStart(item.key);
        if (key === undefined) continue;
        if (start !== undefined) {
          const { line } = lineCounter.linePos(start);
          if (!paths.has(line)) paths.set(line, [...path, key]);
        }
        walk(item.value, [...path, key]);
      } else {
        walk(item, [...path, index]);
      }
    }
  };
  walk(doc.contents, []);
  return paths;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
