import type { Task } from '../task.js';
import { nextTimestamp, parseMicros } from '../timestamps.js';
import { parseLine } from './parse-line.js';
import { deepEqual } from './splice.js';

/**
 * This store's recent writes, kept for a while after each commit. A writer that does not take
 * the lock (bd's read-modify-rename, an editor) may rename a file it read before our commit over
 * ours; when the file changes we compare each recent write with what is there now and restore
 * what such a stale writer reverted, keeping the fields it really changed.
 */
interface Entry {
  /** Every version of the line we have seen or written in the window, as latin1 text. */
  seen: Set<string>;
  /** Our last written line and its object. */
  latest: Buffer;
  latestTask: Task;
  /** True when this store added the task (missing later means a stale writer dropped it). */
  added: boolean;
  at: number;
}

export type Repair =
  | { kind: 'restore'; line: Buffer }
  | { kind: 'merge'; task: Task }
  | { kind: 'append'; line: Buffer };

export class WriteJournal {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly windowMs: number,
    readonly maxEntries = 20_000,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  record(id: string, before: Buffer | undefined, after: Buffer, afterTask: Task, now: number): void {
    const entry = this.#entries.get(id);
    if (entry) {
      entry.seen.add(after.toString('latin1'));
      entry.latest = after;
      entry.latestTask = afterTask;
      entry.at = now;
      this.#entries.delete(id);
      this.#entries.set(id, entry);
    } else {
      const seen = new Set([after.toString('latin1')]);
      if (before) seen.add(before.toString('latin1'));
      this.#entries.set(id, { seen, latest: after, latestTask: afterTask, added: !before, at: now });
    }
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Records lines another process added (it handed their guard to us) as our own adds. */
  recordAdds(lines: readonly Buffer[], now: number): void {
    for (const line of lines) {
      const { record, task } = parseLine(line);
      const id = record.issue?.id;
      if (id && task) this.record(id, undefined, line, task, now);
    }
  }

  /** Drops entries older than the window. */
  expire(now: number): void {
    for (const [id, entry] of this.#entries) {
      if (now - entry.at <= this.windowMs) break;
      this.#entries.delete(id);
    }
  }

  /** What to do so the file holds our recent writes again, given the current lines by id. */
  repairs(
    current: (id: string) => { raw: Buffer; task: () => Task } | undefined,
    now: Date,
  ): Map<string, Repair> {
    const out = new Map<string, Repair>();
    for (const [id, entry] of this.#entries) {
      const line = current(id);
      if (!line) {
        if (entry.added) out.set(id, { kind: 'append', line: entry.latest });
        continue;
      }
      if (line.raw.equals(entry.latest)) continue;
      if (entry.seen.has(line.raw.toString('latin1'))) {
        out.set(id, { kind: 'restore', line: entry.latest });
        continue;
      }
      const theirs = line.task();
      const theirTime = parseMicros(theirs.updated_at) ?? 0;
      const ourTime = parseMicros(entry.latestTask.updated_at) ?? 0;
      if (theirTime > ourTime) continue; // written after ours: a newer edit wins, as in bd
      const merged = this.#merge(entry, theirs);
      if (merged && !deepEqual(merged, theirs)) {
        merged.updated_at = nextTimestamp(entry.latestTask.updated_at, now);
        out.set(id, { kind: 'merge', task: merged });
      }
    }
    return out;
  }

  /** Every version of `id`'s line this store saw or wrote in the window (latin1), if any. */
  seenOf(id: string): ReadonlySet<string> | undefined {
    return this.#entries.get(id)?.seen;
  }

  /** The lines this store added, when adding is all it did (otherwise undefined). */
  addedOnly(): Buffer[] | undefined {
    const lines: Buffer[] = [];
    for (const entry of this.#entries.values()) {
      if (!entry.added) return undefined;
      lines.push(entry.latest);
    }
    return lines;
  }

  /** Whether `line` is the last line this store wrote for `id`. */
  isLatest(id: string, line: Buffer): boolean {
    return this.#entries.get(id)?.latest.equals(line) ?? false;
  }

  #merge(entry: Entry, theirs: Task): Task | undefined {
    return mergeFields(entry.seen, entry.latestTask, theirs);
  }
}

/**
 * Field by field (objects such as `metadata` key by key): a value of theirs equal to the same
 * field in a version we saw before our write is stale, so ours wins; any other value of theirs is
 * their edit and is kept. Undefined when a version does not parse.
 */
export function mergeFields(seen: Iterable<string>, ours: Task, theirs: Task): Task | undefined {
  const versions: unknown[] = [];
  for (const text of seen) {
    try {
      versions.push(JSON.parse(Buffer.from(text, 'latin1').toString('utf8')));
    } catch {
      return undefined;
    }
  }
  return mergeObject(versions, ours, theirs) as Task;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function mergeObject(versions: unknown[], ours: Record<string, unknown>, theirs: Record<string, unknown>) {
  const merged: Record<string, unknown> = { ...theirs };
  for (const key of new Set([...Object.keys(theirs), ...Object.keys(ours)])) {
    if (deepEqual(theirs[key], ours[key])) continue;
    const older = versions.map((v) => (isObject(v) ? v[key] : undefined));
    if (older.some((v) => deepEqual(v, theirs[key]))) {
      if (ours[key] === undefined) delete merged[key];
      else merged[key] = ours[key];
    } else if (isObject(ours[key]) && isObject(theirs[key])) {
      merged[key] = mergeObject(older, ours[key], theirs[key]);
    } else if (key === 'comments' && Array.isArray(ours[key]) && Array.isArray(theirs[key])) {
      merged[key] = mergeComments(ours[key], theirs[key]);
    }
  }
  return merged;
}

/** Their comments, then ours they lack (a result beside their note; bd never deletes a comment). */
function mergeComments(ours: unknown[], theirs: unknown[]): unknown[] {
  const idOf = (c: unknown) => (isObject(c) ? JSON.stringify(c.id) : undefined);
  const known = new Set(theirs.map(idOf));
  return [...theirs, ...ours.filter((c) => idOf(c) !== undefined && !known.has(idOf(c)))];
}
