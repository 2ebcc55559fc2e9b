import { renameSync, statSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { YggError } from '../../errors.js';
import type { StoreChange } from '../store.js';
import type { Task } from '../task.js';
import { type Plan, type PlanEnv, planCommit, type StoreOp } from './commit-plan.js';
import { appendIfUnchanged, type FileId, fileIdOf, fsyncDir, sameFile, writeTemp } from './file-io.js';
import type { FileState } from './file-state.js';
import { IssueIndex } from './issue-index.js';
import type { WriteJournal } from './journal.js';
import type { LineRecord } from './line-record.js';
import { LockHolder } from './lock-holder.js';
import { parseLine } from './parse-line.js';
import type { StoreLock } from './store-lock.js';

const newline = Buffer.from('\n');
/** Adds up to this size are appended in place; larger batches are written whole and renamed. */
const maxAppendBytes = 64 * 1024;

/** What a commit needs from the store around it. */
export interface CommitContext {
  readonly file: FileState;
  readonly lock: StoreLock;
  readonly journal: WriteJournal;
  /** Re-reads the file and the journal (under the lock) after another writer changed them, telling listeners. */
  reload(): Promise<void>;
  planEnv(): PlanEnv;
  emit(change: StoreChange): void;
  /** The task object written on a line, kept so that reading it back costs no parse. */
  remember(record: LineRecord, task: Task): void;
  /** Counts a commit and the lines carried over from a replaced file. */
  counted(what: 'commit' | 'carried', n?: number): void;
}

/**
 * Queued changes and the protocol that writes them: lock, re-read if someone else wrote, apply
 * the queued mutations to the freshest lines, then append in place or write a temp file, check
 * the target did not change and rename, then pick up any line appended to the replaced file.
 */
export class Committer {
  #pending: StoreOp[] = [];
  /** Write the whole file even when nothing changed (it comes out byte for byte the same). */
  forceWrite = false;
  /** When the last commit to the Beads file itself landed (ms since the epoch; 0 for none). */
  lastCommitAt = 0;
  /** Whether a commit replaced the Beads file (a rename) rather than only appending to it. */
  replacedFile = false;
  /** Journal mode: changes go to the write-ahead journal, folded into the file later. */
  journalMode = false;
  /** Fold the journal into the file at the next commit. */
  foldRequested = false;
  /** Every change goes to the journal, adds too; a loop folds it (see BeadsJsonlStore.handOffToLoop). */
  handOff = false;

  readonly #lock: LockHolder;

  constructor(readonly context: CommitContext) {
    this.#lock = new LockHolder(context.lock);
  }

  /** Gives back the store's lock if a commit left it held a moment (see `LockHolder`). */
  releaseLock(): Promise<void> {
    return this.#lock.release();
  }

  hasWork(): boolean {
    const { file } = this.context;
    return this.#pending.length > 0 || file.carried.length > 0 || this.forceWrite || this.foldRequested;
  }

  queue(op: StoreOp): void {
    this.#pending.push(op);
  }

  /** Puts ops before everything queued (repairs of writes a stale writer undid go first). */
  queueFirst(ops: readonly StoreOp[]): void {
    this.#pending = [...ops, ...this.#pending];
  }

  /** One commit of everything queued; failures reject the ops, never throw. Call under the store's chain. */
  async commit(): Promise<void> {
    if (!this.hasWork()) return;
    const { file } = this.context;
    let taken: StoreOp[] = [];
    let failed = true;
    try {
      await this.#lock.acquire();
      failed = false;
      for (let round = 0; round < 50; round++) {
        if (await file.changedOnDisk()) await this.context.reload();
        this.context.counted('carried', await file.checkRetired());
        taken = [...taken, ...this.#pending];
        this.#pending = [];
        const fold = this.foldRequested && file.wal.nonEmpty;
        if (!fold) this.foldRequested = false;
        if (taken.length === 0 && file.carried.length === 0 && !this.forceWrite && !fold) return;
        const plan = planCommit(file.index, taken, this.context.planEnv());
        const carried = file.carried;
        if (plan.writes.length === 0 && carried.length === 0 && !this.forceWrite && !fold) {
          settle(taken, plan.results);
          return;
        }
        const handedOff = taken.some((op) => op.kind === 'add' && op.handedOff === true);
        const route = this.#route(plan, carried, fold, handedOff);
        const written =
          route === 'append'
            ? await this.#append(plan)
            : route === 'journal'
              ? await this.#toJournal(plan)
              : (await this.#rewrite(plan)) && (await this.#folded());
        if (!written) continue; // someone wrote since we read: merge with their version and try again
        file.carried = [];
        this.forceWrite = false;
        this.context.counted('commit');
        // The Beads file itself was written: what close() checks against stale writers.
        if (route !== 'journal') this.lastCommitAt = Date.now();
        if (route === 'rewrite') this.replacedFile = true;
        this.#journal(plan, carried);
        settle(taken, plan.results);
        taken = [];
        // Lines appended to the file we just replaced go into a follow-up commit.
        this.context.counted('carried', await file.checkRetired());
        if (file.carried.length === 0) return;
      }
      throw new YggError(`the store ${file.path} kept changing under us; gave up after 50 tries`, {
        hint: 'Another program is rewriting it continuously; stop it or retry.',
      });
    } catch (error) {
      const failure =
        error instanceof YggError
          ? error
          : new YggError(`cannot write ${file.path}: ${(error as Error).message}`, {
              cause: error,
              hint: 'Check free space and permissions of the folder.',
            });
      failed = true;
      const rejected = [...taken, ...this.#pending];
      this.#pending = [];
      this.forceWrite = false;
      this.foldRequested = false; // tried again by the next timer or close, not in a loop
      for (const op of rejected) op.settle.reject(failure);
    } finally {
      await this.#lock.done(this.journalMode && !failed);
    }
  }

  /**
   * How a commit is written. One that only adds a few lines is appended to the file in place: no
   * rename can then replace a copy another writer just renamed there, and an add to a large file
   * costs its own bytes, not the file's (large batches go through a rename, so that a crash
   * mid-write cannot leave part of them). In journal mode the rest is appended to the journal;
   * otherwise, and for a fold, carried lines or a forced write, the file is rewritten (taking
   * along what the journal holds). A command's adds handed to this loop (`handedOff`) go to the
   * journal, as the command's own write would have.
   */
  #route(
    plan: Plan,
    carried: readonly Buffer[],
    fold: boolean,
    handedOff: boolean,
  ): 'append' | 'journal' | 'rewrite' {
    const { file, lock } = this.context;
    if (carried.length > 0 || this.forceWrite || fold || !file.fileId || lock.compromised) return 'rewrite';
    if (plan.writes.length === 0) return 'rewrite';
    if (this.handOff || (handedOff && this.journalMode)) return 'journal';
    if (plan.writes.every((w) => !w.before)) {
      const bytes = plan.writes.reduce((n, w) => n + w.after.length + 1, 0);
      if (bytes <= maxAppendBytes) return 'append';
    }
    return this.journalMode ? 'journal' : 'rewrite';
  }

  /** Appends the plan's changed lines to the journal (durable when it resolves). */
  async #toJournal(plan: Plan): Promise<boolean> {
    const { file } = this.context;
    await file.wal.append(plan.writes.map((w) => ({ id: w.id, before: w.before, after: w.after })));
    const index = IssueIndex.afterCommit(file.index, plan.records, plan.finalNewline, plan.touched);
    file.committed(index, file.fileId as FileId);
    return true;
  }

  /**
   * After a rewrite, which took along every journal line: the journal is emptied, and its lines
   * (other processes' too) are remembered against stale writers like this store's own writes.
   */
  async #folded(): Promise<boolean> {
    const { file, journal } = this.context;
    this.foldRequested = false;
    if (!file.wal.nonEmpty) return true;
    const now = Date.now();
    for (const { id, line, added } of file.wal.latest()) {
      if (journal.isLatest(id, line)) continue;
      const task = parseLine(line).task;
      if (task) journal.record(id, added ? undefined : line, line, task, now);
    }
    await file.wal.reset();
    return true;
  }

  /** Appends the plan's new lines; false when someone wrote first. Falls back to a rewrite when large. */
  async #append(plan: Plan): Promise<boolean> {
    const { file } = this.context;
    const known = file.index.records.length;
    const lines = plan.records.appended.map((r) => r.raw);
    const lead = known > 0 && !file.index.finalNewline ? [newline] : [];
    const bytes = Buffer.concat([...lead, ...lines.flatMap((line) => [line, newline])]);
    if (bytes.length > maxAppendBytes) return this.#rewrite(plan);
    const appended = await appendIfUnchanged(file.path, file.fileId as FileId, bytes);
    if (!appended) return false;
    file.committed(IssueIndex.afterCommit(file.index, plan.records, true, plan.touched), appended);
    return true;
  }

  /** Writes the whole file to a temp file and renames it over the target; false when someone wrote first. */
  async #rewrite(plan: Plan): Promise<boolean> {
    const { file, lock } = this.context;
    const mode = file.handle ? (await file.handle.stat()).mode & 0o777 : 0o644;
    const tmp = await writeTemp(file.path, plan.records, plan.finalNewline, mode);
    // Check and rename back to back, synchronously: the window in which a writer without the
    // lock could rename its file over the target unnoticed is two system calls wide.
    const target = statSync(file.path, { bigint: true, throwIfNoEntry: false });
    if (!target || !sameFile(fileIdOf(target), file.fileId) || lock.compromised) {
      await tmp.handle.close();
      await unlink(tmp.tmpPath).catch(() => undefined);
      return false;
    }
    renameSync(tmp.tmpPath, file.path);
    await fsyncDir(dirname(file.path));
    const index = IssueIndex.afterCommit(file.index, plan.records, plan.finalNewline, plan.touched);
    // The size is what we wrote, not what a stat finds now: a line appended since the rename
    // must show as a change, or the next commit would write over it unseen.
    const fileId = { ...fileIdOf(await tmp.handle.stat({ bigint: true })), size: BigInt(tmp.size) };
    file.committed(index, fileId, tmp.handle);
    return true;
  }

  /** Records the commit's writes against stale writers and tells listeners. */
  #journal(plan: Plan, carried: readonly Buffer[]): void {
    const { journal, file } = this.context;
    const change: StoreChange = { added: [], changed: [], removed: [], external: false };
    for (const w of plan.writes) {
      journal.record(w.id, w.before, w.after, w.task, Date.now());
      this.context.remember(w.record, w.task);
      (w.before ? change.changed : change.added).push(w.id);
    }
    // Carried lines are journaled like our own adds: a writer without the lock that read
    // before this commit and renames its copy over it would drop them otherwise.
    const carriedIds: string[] = [];
    for (const line of carried) {
      const { record, task } = parseLine(line);
      const id = record.issue?.id;
      if (!id || !task) continue;
      carriedIds.push(id);
      if (file.index.record(id)?.raw.equals(line)) journal.record(id, undefined, line, task, Date.now());
    }
    this.context.emit(change);
    if (carried.length > 0)
      this.context.emit({ added: carriedIds, changed: [], removed: [], external: true });
  }
}

function settle(ops: readonly StoreOp[], results: ReadonlyArray<Task | undefined | Error>): void {
  ops.forEach((op, i) => {
    const result = results[i];
    if (result instanceof Error) op.settle.reject(result);
    else op.settle.resolve(result);
  });
}
