import type { FileHandle } from 'node:fs/promises';
import type { StoreProblem } from '../store.js';
import { type FileId, readAppended, readSnapshot, StoreFileError, sameFile, statPath } from './file-io.js';
import { IssueIndex } from './issue-index.js';
import type { LineRecord } from './line-record.js';
import { recordsFor, splitLines } from './line-reuse.js';
import { parseLine } from './parse-line.js';
import { type Appended, readTail } from './tail-read.js';
import { type History, WriteAheadLog } from './wal.js';

/** A file this store replaced, still open for a while to catch lines appended to it late. */
interface Retired {
  handle: FileHandle;
  size: number;
  until: number;
}

/**
 * How long, and how many, replaced files are watched for late appends. A writer without the lock
 * that appends (`echo >> issues.jsonl`) opens and writes within milliseconds, so a late line lands
 * in one of the last few files we replaced. At hundreds of commits a second a longer watch would
 * hold thousands of descriptors and stat them all on every commit.
 */
const retiredForMs = 2_000;
const retiredAtMost = 32;

/**
 * The Beads file as this store last read or wrote it: its lines (the index), which version of
 * the file that was, an open handle on it, and the lines other writers appended to a file we
 * replaced (carried into the next write). No locking or writing here: see `Committer`.
 */
export class FileState {
  index: IssueIndex;
  fileId: FileId | undefined;
  handle: FileHandle | undefined;
  /** Lines appended to a replaced file, to append to the current one in the next commit. */
  carried: Buffer[] = [];
  /** Bumped on every change of the index (readiness is cached per version). */
  version = 0;
  /** Problems with the file itself (missing, unreadable), from the last read. */
  fileProblems: StoreProblem[] = [];
  #retired: Retired[] = [];
  /** The file's own lines as last read (the index lays the journal over them), for a tail read. */
  #fileRecords: LineRecord[] | undefined;
  #fileFinalNewline = true;
  /** ygg's journal of writes not yet folded into the file; the index shows them laid over it. */
  readonly wal: WriteAheadLog;
  /** This store's memory of its earlier writes (older copies renamed over the file are stale). */
  history: History | undefined;

  constructor(
    readonly path: string,
    walPath: string,
    readonly clock: () => Date,
  ) {
    this.index = new IssueIndex(path, [], true);
    this.wal = new WriteAheadLog(walPath);
  }

  /** Under the lock: whether the file or the journal on disk is another version than the one we hold. */
  async changedOnDisk(): Promise<boolean> {
    return !sameFile(await statPath(this.path), this.fileId) || (await this.wal.changedOnDisk(true));
  }

  /**
   * Re-reads the file and the journal, parsing only lines that changed. Returns the index before
   * and the count parsed. `locked`: under the store's lock (a torn journal record is cut off).
   */
  async reload(locked = false): Promise<{ before: IssueIndex; parsed: number }> {
    const now = await statPath(this.path);
    // Only the journal changed (another ygg process's write): the file's lines stand as read.
    if (this.#fileRecords && this.fileId && now && sameFile(now, this.fileId)) {
      await this.wal.sync(locked, false);
      return { before: this.#took(this.#fileRecords, this.#fileFinalNewline, this.fileId), parsed: 0 };
    }
    const tail = await readTail(
      this.handle,
      this.fileId,
      now,
      this.#fileRecords,
      this.#fileFinalNewline,
    ).catch(() => undefined);
    if (tail) return this.#appended(tail, locked);
    let snapshot: Awaited<ReturnType<typeof readSnapshot>>;
    for (let round = 0; ; round++) {
      try {
        snapshot = await readSnapshot(this.path);
      } catch (error) {
        if (error instanceof StoreFileError) this.fileProblems = [error.problem];
        throw error;
      }
      // A journal is emptied only after a rewrite of the file, which renames a new file over it:
      // then the journal is read from its start (what a reader saw of it may since be replaced).
      await this.wal.sync(locked, snapshot.id.ino !== this.fileId?.ino);
      // A fold renames the file, then empties the journal: read after a fold, the journal must
      // go with the new file, not the old one.
      if (locked || round >= 3 || sameFile(await statPath(this.path), snapshot.id)) break;
      await snapshot.handle.close().catch(() => undefined);
    }
    this.fileProblems = [];
    const { lines, finalNewline } = splitLines(snapshot.bytes);
    const { records, parsed } = recordsFor(lines, this.#fileRecords ?? this.index.records);
    await this.handle?.close().catch(() => undefined);
    this.handle = snapshot.handle;
    return { before: this.#took(records, finalNewline, snapshot.id), parsed };
  }

  /** Lines appended to the file we hold (see tail-read.ts): only they are parsed. */
  async #appended(tail: Appended, locked: boolean): Promise<{ before: IssueIndex; parsed: number }> {
    await this.wal.sync(locked, false);
    this.fileProblems = [];
    const added = tail.lines.map((line) => parseLine(line).record);
    const records = [...(this.#fileRecords as LineRecord[]), ...added];
    return { before: this.#took(records, true, tail.id), parsed: added.length };
  }

  /** The file's lines as read, with the journal laid over them, become the index. */
  #took(records: LineRecord[], finalNewline: boolean, id: FileId): IssueIndex {
    const before = this.index;
    this.#fileRecords = records;
    this.#fileFinalNewline = finalNewline;
    const merged = this.wal.overlay([...records], this.clock(), this.history);
    this.index = new IssueIndex(this.path, merged, finalNewline || merged.length > records.length);
    this.fileId = id;
    this.version++;
    return before;
  }

  /** Our own write took effect: the new index and file version (the old handle watched a while). */
  committed(index: IssueIndex, fileId: FileId, handle?: FileHandle): void {
    if (handle) {
      const old = this.handle;
      if (old)
        this.#retired.push({
          handle: old,
          size: Number(this.fileId?.size ?? 0n),
          until: Date.now() + retiredForMs,
        });
      while (this.#retired.length > retiredAtMost) {
        const oldest = this.#retired.shift() as Retired;
        oldest.handle.close().catch(() => undefined);
      }
      this.handle = handle;
    }
    // Our own write to the file (not to the journal): read it whole next time.
    if (!sameFile(fileId, this.fileId)) this.#fileRecords = undefined;
    this.index = index;
    this.fileId = fileId;
    this.version++;
  }

  /** Picks up complete lines appended to replaced files since last looked; returns how many. */
  async checkRetired(): Promise<number> {
    const now = Date.now();
    const retired = this.#retired;
    this.#retired = [];
    const appended = await Promise.all(
      retired.map((r) => readAppended(r.handle, r.size).catch(() => ({ lines: [], end: r.size }))),
    );
    let count = 0;
    retired.forEach((r, i) => {
      const { lines, end } = appended[i] as { lines: Buffer[]; end: number };
      r.size = end;
      this.carried.push(...lines);
      count += lines.length;
      if (now > r.until) r.handle.close().catch(() => undefined);
      else this.#retired.push(r);
    });
    return count;
  }

  async closeHandles(): Promise<void> {
    await this.wal.close();
    await this.handle?.close().catch(() => undefined);
    for (const r of this.#retired) await r.handle.close().catch(() => undefined);
    this.handle = undefined;
    this.#retired = [];
  }
}
