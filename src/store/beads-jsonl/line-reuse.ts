import type { LineRecord } from './line-record.js';
import { parseLine } from './parse-line.js';

/** Splits file bytes into lines (views, no copies). */
export function splitLines(buf: Buffer): { lines: Buffer[]; finalNewline: boolean } {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl === -1) break;
    lines.push(buf.subarray(start, nl));
    start = nl + 1;
  }
  if (start < buf.length) lines.push(buf.subarray(start));
  return { lines, finalNewline: start === buf.length };
}

/**
 * Records for `lines`, reusing the parsed index of every line whose bytes are unchanged from
 * `previous` (matched in order from both ends, then by content), so only changed lines are
 * parsed. Reused records take the new bytes, so the old file buffer can be freed.
 */
export function recordsFor(
  lines: readonly Buffer[],
  previous: readonly LineRecord[] = [],
): { records: LineRecord[]; parsed: number } {
  const records: Array<LineRecord | undefined> = new Array(lines.length);
  const reuse = (i: number, old: LineRecord) => {
    records[i] = { ...old, raw: lines[i] as Buffer };
  };
  let head = 0;
  while (head < lines.length && head < previous.length && previous[head]?.raw.equals(lines[head] as Buffer)) {
    reuse(head, previous[head] as LineRecord);
    head++;
  }
  let tailNew = lines.length - 1;
  let tailOld = previous.length - 1;
  while (tailNew >= head && tailOld >= head && previous[tailOld]?.raw.equals(lines[tailNew] as Buffer)) {
    reuse(tailNew, previous[tailOld] as LineRecord);
    tailNew--;
    tailOld--;
  }
  const byContent = new Map<string, LineRecord[]>();
  for (let j = head; j <= tailOld; j++) {
    const old = previous[j] as LineRecord;
    const key = old.raw.toString('latin1');
    const same = byContent.get(key);
    if (same) same.push(old);
    else byContent.set(key, [old]);
  }
  let parsed = 0;
  for (let i = head; i <= tailNew; i++) {
    const line = lines[i] as Buffer;
    const old = byContent.size > 0 ? byContent.get(line.toString('latin1'))?.shift() : undefined;
    if (old) reuse(i, old);
    else {
      records[i] = parseLine(line).record;
      parsed++;
    }
  }
  return { records: records as LineRecord[], parsed };
}
