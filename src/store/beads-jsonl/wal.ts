import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoreProblem } from '../store.js';
import type { Task } from '../task.js';
import { nextTimestamp, parseMicros } from '../timestamps.js';
import { type FileId, fileIdOf, fsyncDir, sameFile, statPath } from './file-io.js';
import { mergeFields } from './journal.js';
import { placeLikeBd } from './key-order.js';
import type { LineRecord } from './line-record.js';
import { parseLine } from './parse-line.js';
import { deepEqual, spliceJson } from './splice.js';
import { decodeRecords, encodeRecord, type WalEntry } from './wal-format.js';

/** The writes to one task since the last fold. */
interface Chain {
  /** True when the first write added the task (absent from the Beads file, it is appended). */
  added: boolean;
  /** Every version of the line seen in the chain (the one it replaced, each one written), latin1. */
  seen: Set<string>;
  latest: Buffer;
  record?: LineRecord;
}

const latin1 = (b: Buffer) => b.toString('latin1');

/** The versions of a task's line this process saw or wrote before the journal's last fold. */
export type History = (id: string) => ReadonlySet<string> | undefined;

/**
 * The write-ahead journal beside a Beads file (`.ygg/issues.jsonl.wal`): each commit's changed
 * lines appended as one record and fdatasynced before the commit is reported, folded into the
 * Beads file (a whole rewrite) within a second. What every ygg reader sees is the file with the
 * journal's lines laid over it (`overlay`); bd and editors see the file alone, a second behind.
 *
 * Appends, truncation of a torn tail and resets happen only under the store's lock. A reader
 * without the lock stops at a record that is not whole (it may be in the middle of being written).
 */
export class WriteAheadLog {
  readonly #chains = new Map<string, Chain>();
  /** The journal as last read or written (undefined: none on disk). */
  #id: FileId | undefined;
  /** Where the whole records end, and how many there are. */
  #end = 0;
  #records = 0;
  #handle: { file: FileHandle; ino: bigint } | undefined;
  /** A record that was not whole when last read without the lock (torn, or being written). */
  #badTail = false;
  /** A torn record dropped under the lock, reported with the journal's line. */
  problems: StoreProblem[] = [];

  constructor(readonly path: string) {}

  /** Tasks with writes not yet folded into the Beads file. */
  get pending(): number {
    return this.#chains.size;
  }

  /** Whether the journal holds bytes (whole records or a torn tail) that a fold would clear. */
  get nonEmpty(): boolean {
    return this.#chains.size > 0 || (this.#id?.size ?? 0n) > 0n;
  }

  /** When the journal was last written (ms), for a fold of one its writer left behind. */
  get writtenAt(): number {
    return this.#id ? Number(this.#id.mtimeNs / 1_000_000n) : 0;
  }

  /** Whether the journal changed since read (under the lock, also: a record was not whole then). */
  async changedOnDisk(locked = false): Promise<boolean> {
    if (locked && this.#badTail) return true;
    const now = await statPath(this.path);
    return now || this.#id ? !sameFile(now, this.#id) : false;
  }

  /**
   * Reads what was appended since last time (or the whole journal when it was reset). Under the
   * lock (`locked`) a record that is not whole is torn (its writer died mid-write): it is cut off
   * and reported. Returns whether anything changed.
   */
  async sync(locked: boolean, fromStart = false): Promise<boolean> {
    const st = await statPath(this.path);
    if (!st) {
      const had = this.#id !== undefined || this.#chains.size > 0;
      this.#forget();
      this.#id = undefined;
      return had;
    }
    if (sameFile(st, this.#id) && !(locked && this.#badTail) && !fromStart) return false;
    if (fromStart || !this.#id || st.ino !== this.#id.ino || st.size < BigInt(this.#end)) this.#forget();
    const bytes = await readRange(this.path, this.#end, Number(st.size));
    const decoded = decodeRecords(bytes);
    for (const entries of decoded.records) this.#apply(entries);
    this.#end += decoded.end;
    this.#records += decoded.lines;
    this.#id = st;
    this.#badTail = decoded.bad !== undefined && !locked;
    if (decoded.bad && locked) {
      const line = this.#records + 1;
      this.problems.push({
        file: this.path,
        line,
        kind: 'torn-journal',
        message: `${this.path}:${line}: a journal record cut short by a crash (${decoded.bad.reason}, ${decoded.bad.bytes} bytes) was dropped`,
        hint: 'Nothing was lost: ygg reports a write only once its record is whole on disk.',
      });
      const handle = await open(this.path, 'r+');
      try {
        await handle.truncate(this.#end);
        await handle.datasync();
        this.#id = fileIdOf(await handle.stat({ bigint: true }));
      } finally {
        await handle.close();
      }
    }
    return true;
  }

  /** Appends one commit's writes and waits until they are on disk. Call under the lock, synced. */
  async append(entries: readonly WalEntry[]): Promise<void> {
    const bytes = encodeRecord(entries);
    const handle = await this.#writable();
    try {
      let written = 0;
      while (written < bytes.length) written += (await handle.write(bytes, written)).bytesWritten;
      await handle.datasync();
    } catch (error) {
      // A part written (a full disk) must not stay in front of the next record.
      await handle.truncate(this.#end).catch(() => undefined);
      this.#id = undefined;
      throw error;
    }
    this.#end += bytes.length;
    this.#records++;
    this.#id = fileIdOf(await handle.stat({ bigint: true }));
    for (const entry of entries) this.#apply([entry]);
  }

  /**
   * Lays the journal's lines over the Beads file's: a line still as before (or as one of our
   * versions) takes our latest; one another writer changed since is merged field by field (their
   * edit and ours both kept); a task we added that the file lacks is appended.
   */
  overlay(records: LineRecord[], now: Date, history?: History): LineRecord[] {
    if (this.#chains.size === 0) return records;
    const at = new Map<string, number>();
    records.forEach((record, i) => {
      const id = record.kind === 'issue' ? record.issue?.id : undefined;
      if (id !== undefined && this.#chains.has(id) && !at.has(id)) at.set(id, i);
    });
    for (const [id, chain] of this.#chains) {
      const i = at.get(id);
      if (i === undefined) {
        if (chain.added) records.push(recordOf(chain));
        continue; // deleted by another writer: their deletion stands
      }
      const raw = (records[i] as LineRecord).raw;
      if (raw.equals(chain.latest)) continue;
      // Versions from before the last fold count too: an older copy renamed over the file.
      const older = history?.(id);
      const text = latin1(raw);
      if (chain.seen.has(text) || older?.has(text)) records[i] = recordOf(chain);
      else {
        const seen = older ? new Set([...chain.seen, ...older]) : chain.seen;
        records[i] = parseLine(mergedLine(seen, chain.latest, raw, now)).record;
      }
    }
    return records;
  }

  /** The chains, for the store's memory of its writes once they are folded. */
  *latest(): Iterable<{ id: string; line: Buffer; added: boolean }> {
    for (const [id, chain] of this.#chains) yield { id, line: chain.latest, added: chain.added };
  }

  /** Empties the journal after a fold wrote everything into the Beads file. Call under the lock. */
  async reset(): Promise<void> {
    if (this.#id === undefined && this.#chains.size === 0) return;
    const handle = await this.#writable();
    await handle.truncate(0);
    await handle.datasync();
    this.#forget();
    this.#id = fileIdOf(await handle.stat({ bigint: true }));
  }

  async close(): Promise<void> {
    await this.#handle?.file.close().catch(() => undefined);
    this.#handle = undefined;
  }

  #forget(): void {
    this.#chains.clear();
    this.#end = 0;
    this.#records = 0;
  }

  #apply(entries: readonly WalEntry[]): void {
    for (const { id, before, after } of entries) {
      const chain = this.#chains.get(id);
      if (chain) {
        if (before) chain.seen.add(latin1(before));
        chain.seen.add(latin1(after));
        chain.latest = after;
        chain.record = undefined;
      } else {
        const seen = new Set([latin1(after)]);
        if (before) seen.add(latin1(before));
        this.#chains.set(id, { added: !before, seen, latest: after });
      }
    }
  }

  /** The journal open for appending (created, and its folder synced, the first time). */
  async #writable(): Promise<FileHandle> {
    const current = this.#id;
    if (this.#handle && current && this.#handle.ino === current.ino) return this.#handle.file;
    await this.close();
    const existed = (await statPath(this.path)) !== undefined;
    const file = await open(this.path, 'a', 0o644);
    if (!existed) await fsyncDir(dirname(this.path));
    const st = await file.stat({ bigint: true });
    this.#handle = { file, ino: st.ino };
    return file;
  }
}

function recordOf(chain: Chain): LineRecord {
  chain.record ??= parseLine(chain.latest).record;
  return chain.record;
}

/** Their line with our journal's changes of the fields they did not change. */
function mergedLine(seen: ReadonlySet<string>, latest: Buffer, raw: Buffer, now: Date): Buffer {
  const text = raw.toString('utf8');
  let theirs: Task;
  let ours: Task;
  try {
    theirs = JSON.parse(text) as Task;
    ours = JSON.parse(latest.toString('utf8')) as Task;
  } catch {
    return raw;
  }
  const merged = mergeFields(seen, ours, theirs);
  if (!merged || deepEqual(merged, theirs)) return raw;
  const later = (parseMicros(theirs.updated_at) ?? 0) > (parseMicros(ours.updated_at) ?? 0) ? theirs : ours;
  merged.updated_at = nextTimestamp(later.updated_at, now);
  return Buffer.from(spliceJson(text, theirs, merged, placeLikeBd), 'utf8');
}

async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  if (to <= from) return Buffer.alloc(0);
  const handle = await open(path, 'r');
  try {
    const bytes = Buffer.alloc(to - from);
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await handle.read(bytes, read, bytes.length - read, from + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return bytes.subarray(0, read);
  } finally {
    await handle.close();
  }
}
