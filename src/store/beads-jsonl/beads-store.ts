import { renameSync, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { YggError } from '../../errors.js';
import type { Mutation, NewTask, StoreChange, StoreProblem, TaskStore } from '../store.js';
import type { Task } from '../task.js';
import { diffIndexes, isEmptyChange } from './change-diff.js';
import { type Plan, type PlanEnv, planCommit, type Settle, type StoreOp } from './commit-plan.js';
import {
  appendIfUnchanged,
  type FileId,
  fileIdOf,
  fsyncDir,
  readAppended,
  readSnapshot,
  StoreFileError,
  sameFile,
  statPath,
  writeTemp,
} from './file-io.js';
import { IssueIndex } from './issue-index.js';
import { WriteJournal } from './journal.js';
import { placeLikeBd } from './key-order.js';
import type { LineRecord } from './line-record.js';
import { recordsFor, splitLines } from './line-reuse.js';
import { runtimeDirFor } from './locate.js';
import { parseLine } from './parse-line.js';
import { computeReadyBase, type ReadyBase, readyAt } from './ready.js';
import { spliceJson } from './splice.js';
import { StoreLock } from './store-lock.js';
import { FileWatcher } from './watcher.js';

export interface BeadsStoreOptions {
  /** The Beads file (`.beads/issues.jsonl`). */
  path: string;
  /** ygg's runtime folder (default: `.ygg/` beside `.beads/`). */
  runtimeDir?: string;
  /** Safety-net poll of the file while someone watches (default 5000 ms). */
  pollIntervalMs?: number;
  /** Gather updates this long before a commit (default 0: the next turn of the event loop). */
  batchWindowMs?: number;
  /**
   * After its last write, `close()` waits this long and checks that no writer without the lock
   * renamed an older copy over ours or appended to the file we replaced (default 250 ms).
   */
  settleMs?: number;
  /** How long our writes are checked against stale writers (default 60 s). */
  clobberWindowMs?: number;
  /** Give up waiting for the write lock after this long (default 60 s). */
  lockTimeoutMs?: number;
  /** A lock holder that stops refreshing the lock is stale after this long (default 10 s). */
  lockStaleMs?: number;
  clock?: () => Date;
}

/** Counters for tests and benchmarks. */
export interface StoreStats {
  /** Lines parsed while reading the file (unchanged lines of a re-read are not parsed again). */
  linesParsed: number;
  /** Whole task objects built from lines on demand. */
  tasksMaterialized: number;
  commits: number;
  reloads: number;
  /** Lines carried over from a replaced file, and writes restored after a stale writer. */
  carriedLines: number;
  repairs: number;
}

interface Retired {
  handle: FileHandle;
  size: number;
  until: number;
}

const newline = Buffer.from('\n');
/** Adds up to this size are appended in place; larger batches are written whole and renamed. */
const maxAppendBytes = 64 * 1024;
const noop: Settle = { resolve: () => undefined, reject: () => undefined };
const pause = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/**
 * The default TaskStore: a Beads JSONL file.
 *
 * Reads keep each line's bytes and a slim index; whole task objects are built when asked for.
 * Writes are queued and committed in groups: lock, re-read if someone else wrote, apply the
 * queued mutations to the freshest lines, write a temp file, check the target did not change,
 * rename, then pick up any line appended to the replaced file meanwhile.
 */
export class BeadsJsonlStore implements TaskStore {
  readonly path: string;
  readonly runtimeDir: string;
  readonly #options: BeadsStoreOptions;
  readonly #lock: StoreLock;
  readonly #journal: WriteJournal;
  readonly #clock: () => Date;
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #cache = new WeakMap<LineRecord, Task>();
  readonly #stats: StoreStats = {
    linesParsed: 0,
    tasksMaterialized: 0,
    commits: 0,
    reloads: 0,
    carriedLines: 0,
    repairs: 0,
  };
  #index: IssueIndex;
  #fileId: FileId | undefined;
  #handle: FileHandle | undefined;
  #retired: Retired[] = [];
  #pending: StoreOp[] = [];
  #carried: Buffer[] = [];
  #forceWrite = false;
  #scheduled = false;
  #chain: Promise<unknown> = Promise.resolve();
  #version = 0;
  #fileProblems: StoreProblem[] = [];
  #watcher: FileWatcher | undefined;
  #lastCreated = 0;
  #lastCommitAt = 0;
  #closed = false;
  #ready:
    | { version: number; base: ReadyBase; at?: { from: number; until: number; tasks: Task[] } }
    | undefined;

  constructor(options: BeadsStoreOptions) {
    this.#options = options;
    this.path = options.path;
    this.runtimeDir = options.runtimeDir ?? runtimeDirFor(options.path);
    this.#lock = new StoreLock(this.path, join(this.runtimeDir, `${basename(this.path)}.lock`), {
      ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
      ...(options.lockStaleMs !== undefined ? { staleMs: options.lockStaleMs } : {}),
    });
    this.#journal = new WriteJournal(options.clobberWindowMs ?? 60_000);
    this.#clock = options.clock ?? (() => new Date());
    this.#index = new IssueIndex(this.path, [], true);
  }

  /** Opens and reads a store (throws a YggError when the file cannot be read). */
  static async open(options: BeadsStoreOptions): Promise<BeadsJsonlStore> {
    const store = new BeadsJsonlStore(options);
    await store.load();
    return store;
  }

  stats(): Readonly<StoreStats> {
    return { ...this.#stats };
  }

  load(): Promise<void> {
    return this.#exclusive(async () => {
      const change = await this.#reload(true);
      if (change) this.#emit(change);
    });
  }

  list(statuses?: readonly string[]): readonly Task[] {
    const out: Task[] = [];
    for (const at of this.#index.positions.values()) {
      const record = this.#index.records[at] as LineRecord;
      if (statuses && !statuses.includes(record.issue?.status as string)) continue;
      out.push(this.#taskOf(record, false));
    }
    return out;
  }

  get(id: string): Task | undefined {
    const record = this.#index.record(id);
    return record ? this.#taskOf(record, true) : undefined;
  }

  ready(now: Date = this.#clock()): readonly Task[] {
    if (!this.#ready || this.#ready.version !== this.#version) {
      this.#ready = {
        version: this.#version,
        base: computeReadyBase(this.#index.slims.values(), this.#index.slims),
      };
    }
    const nowMs = now.getTime();
    const at = this.#ready.at;
    if (at && at.from <= nowMs && nowMs < at.until) return at.tasks;
    const { ready, validUntil } = readyAt(this.#ready.base, nowMs);
    const tasks = ready.map((slim) => this.#taskOf(this.#index.record(slim.id) as LineRecord, true));
    this.#ready.at = { from: nowMs, until: validUntil, tasks };
    return tasks;
  }

  problems(): readonly StoreProblem[] {
    return [...this.#fileProblems, ...this.#index.problems];
  }

  update(id: string, mutation: Mutation): Promise<Task | undefined> {
    return this.#enqueue<Task | undefined>((settle) => ({ kind: 'update', id, mutation, settle }));
  }

  add(task: NewTask): Promise<Task> {
    if (typeof task.title !== 'string' || task.title.trim() === '') {
      return Promise.reject(new YggError('a task needs a title', { hint: 'Pass a non-empty title.' }));
    }
    if (Buffer.byteLength(task.title) > 500) {
      return Promise.reject(
        new YggError('the title is longer than 500 bytes', { hint: 'Put the detail in --description.' }),
      );
    }
    const p = task.priority;
    if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 4)) {
      return Promise.reject(
        new YggError(`priority ${p} is outside 0..4`, {
          hint: 'Use 0 (critical), 1, 2 (default), 3 or 4 (backlog).',
        }),
      );
    }
    return this.#enqueue<Task>((settle) => ({ kind: 'add', input: task, settle }));
  }

  /** Writes the whole file again even when nothing changed (it comes out byte for byte the same). */
  async rewrite(): Promise<void> {
    this.#forceWrite = true;
    this.#schedule();
    await this.flush();
  }

  async flush(): Promise<void> {
    for (let round = 0; round < 1000 && this.#hasWork(); round++) {
      await this.#exclusive(() => this.#commit());
    }
    await this.#exclusive(async () => undefined);
  }

  watch(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#watcher && !this.#closed) {
      this.#watcher = new FileWatcher(this.path, this.#options.pollIntervalMs ?? 5000, () => {
        void this.#exclusive(() => this.#refresh()).catch(() => undefined);
      });
      this.#watcher.start();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#watcher?.stop();
        this.#watcher = undefined;
      }
    };
  }

  /** Checks the file now (what the watcher does on an event). */
  refresh(): Promise<void> {
    return this.#exclusive(() => this.#refresh());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#watcher?.stop();
    this.#watcher = undefined;
    await this.flush();
    if (this.#lastCommitAt > 0) {
      // A writer without the lock that read before our last rename may still rename its copy.
      const wait = this.#lastCommitAt + (this.#options.settleMs ?? 250) - Date.now();
      if (wait > 0) await pause(wait);
      for (let round = 0; round < 5; round++) {
        await this.#exclusive(() => this.#refresh());
        if (!this.#hasWork()) break;
        await this.flush();
      }
    }
    this.#closed = true;
    await this.#exclusive(async () => {
      await this.#handle?.close().catch(() => undefined);
      for (const r of this.#retired) await r.handle.close().catch(() => undefined);
      this.#handle = undefined;
      this.#retired = [];
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  #hasWork(): boolean {
    return this.#pending.length > 0 || this.#carried.length > 0 || this.#forceWrite;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #enqueue<T>(make: (settle: Settle) => StoreOp): Promise<T> {
    if (this.#closed) return Promise.reject(new YggError(`the store ${this.path} is closed`));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push(make({ resolve: resolve as (t: Task | undefined) => void, reject }));
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const go = () => {
      this.#scheduled = false;
      void this.#exclusive(() => this.#commit()).catch(() => undefined);
    };
    const window = this.#options.batchWindowMs ?? 0;
    if (window > 0) setTimeout(go, window);
    else setImmediate(go);
  }

  #emit(change: StoreChange): void {
    if (isEmptyChange(change)) return;
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure is its own; the store goes on
      }
    }
  }

  #taskOf(record: LineRecord, keep: boolean): Task {
    const cached = this.#cache.get(record);
    if (cached) return cached;
    const task = JSON.parse(record.raw.toString('utf8')) as Task;
    this.#stats.tasksMaterialized++;
    if (keep) this.#cache.set(record, task);
    return task;
  }

  /** Re-reads the file, reusing unchanged lines; queues repairs of our writes a stale writer undid. */
  async #reload(initial: boolean): Promise<StoreChange | undefined> {
    let snapshot: Awaited<ReturnType<typeof readSnapshot>>;
    try {
      snapshot = await readSnapshot(this.path);
    } catch (error) {
      if (error instanceof StoreFileError) this.#fileProblems = [error.problem];
      throw error;
    }
    this.#fileProblems = [];
    const { lines, finalNewline } = splitLines(snapshot.bytes);
    const { records, parsed } = recordsFor(lines, this.#index.records);
    const before = this.#index;
    const after = new IssueIndex(this.path, records, finalNewline);
    await this.#handle?.close().catch(() => undefined);
    this.#index = after;
    this.#fileId = snapshot.id;
    this.#handle = snapshot.handle;
    this.#version++;
    this.#stats.linesParsed += parsed;
    this.#stats.reloads++;
    if (initial && before.records.length === 0) return diffIndexes(before, after, false);
    this.#queueRepairs();
    return diffIndexes(before, after, true);
  }

  #queueRepairs(): void {
    const now = this.#clock();
    this.#journal.expire(Date.now());
    if (this.#journal.size === 0) return;
    const repairs = this.#journal.repairs((id) => {
      const record = this.#index.record(id);
      return record ? { raw: record.raw, task: () => this.#taskOf(record, false) } : undefined;
    }, now);
    const ops: StoreOp[] = [];
    for (const [id, repair] of repairs) {
      this.#stats.repairs++;
      if (repair.kind === 'append') ops.push({ kind: 'restore-line', id, line: repair.line, settle: noop });
      else {
        const target =
          repair.kind === 'merge' ? repair.task : (JSON.parse(repair.line.toString('utf8')) as Task);
        ops.push({ kind: 'update', id, mutation: () => target, settle: noop });
      }
    }
    if (ops.length > 0) {
      this.#pending = [...ops, ...this.#pending];
      this.#schedule();
    }
  }

  /** Outside a commit: notices other writers (and appends to a file we replaced). */
  async #refresh(): Promise<void> {
    if (this.#closed) return;
    const current = await statPath(this.path);
    if (current && !sameFile(current, this.#fileId)) {
      const change = await this.#reload(false);
      if (change) this.#emit(change);
    }
    await this.#checkRetired();
    if (this.#carried.length > 0) this.#schedule();
  }

  async #checkRetired(): Promise<void> {
    const now = Date.now();
    const kept: Retired[] = [];
    for (const r of this.#retired) {
      const { lines, end } = await readAppended(r.handle, r.size).catch(() => ({ lines: [], end: r.size }));
      r.size = end;
      this.#carried.push(...lines);
      this.#stats.carriedLines += lines.length;
      if (now > r.until) await r.handle.close().catch(() => undefined);
      else kept.push(r);
    }
    this.#retired = kept;
  }

  #planEnv(): PlanEnv {
    return {
      now: this.#clock(),
      nextCreatedMicros: () => {
        this.#lastCreated = Math.max(this.#clock().getTime() * 1000, this.#lastCreated + 1);
        return this.#lastCreated;
      },
      carried: this.#carried,
    };
  }

  async #commit(): Promise<void> {
    if (!this.#hasWork()) return;
    let taken: StoreOp[] = [];
    let release: (() => Promise<void>) | undefined;
    try {
      release = await this.#lock.acquire();
      for (let round = 0; round < 50; round++) {
        const current = await statPath(this.path);
        if (!sameFile(current, this.#fileId)) {
          const change = await this.#reload(false);
          if (change) this.#emit(change);
        }
        await this.#checkRetired();
        taken = [...taken, ...this.#pending];
        this.#pending = [];
        if (taken.length === 0 && this.#carried.length === 0 && !this.#forceWrite) return;
        const plan = planCommit(this.#index, taken, this.#planEnv());
        const carried = this.#carried;
        if (plan.writes.length === 0 && carried.length === 0 && !this.#forceWrite) {
          this.#settle(taken, plan.results);
          return;
        }
        const appended = this.#onlyAppends(plan, carried) ? await this.#appendLines(plan) : 'rewrite';
        if (appended === undefined) continue; // someone wrote since we read: merge and try again
        if (appended !== 'rewrite') {
          this.#index = IssueIndex.afterCommit(this.#index, plan.records, true, plan.touched);
          this.#fileId = appended;
        } else {
          const mode = this.#handle ? (await this.#handle.stat()).mode & 0o777 : 0o644;
          const tmp = await writeTemp(this.path, plan.records, plan.finalNewline, mode);
          // Check and rename back to back, synchronously: the window in which a writer without
          // the lock could rename its file over the target unnoticed is two system calls wide.
          const target = statSync(this.path, { bigint: true, throwIfNoEntry: false });
          if (!target || !sameFile(fileIdOf(target), this.#fileId) || this.#lock.compromised) {
            // Someone wrote since we read: merge with their version and write again.
            await tmp.handle.close();
            await unlink(tmp.tmpPath).catch(() => undefined);
            continue;
          }
          renameSync(tmp.tmpPath, this.path);
          await fsyncDir(dirname(this.path));
          const oldHandle = this.#handle;
          const oldSize = Number(this.#fileId?.size ?? 0n);
          this.#index = IssueIndex.afterCommit(this.#index, plan.records, plan.finalNewline, plan.touched);
          // The size is what we wrote, not what a stat finds now: a line appended since the
          // rename must show as a change, or the next commit would write over it unseen.
          this.#fileId = { ...fileIdOf(await tmp.handle.stat({ bigint: true })), size: BigInt(tmp.size) };
          this.#handle = tmp.handle;
          if (oldHandle) this.#retired.push({ handle: oldHandle, size: oldSize, until: Date.now() + 10_000 });
        }
        this.#carried = [];
        this.#forceWrite = false;
        this.#version++;
        this.#stats.commits++;
        this.#lastCommitAt = Date.now();
        const change: StoreChange = { added: [], changed: [], removed: [], external: false };
        for (const w of plan.writes) {
          this.#journal.record(w.id, w.before, w.after, w.task, Date.now());
          this.#cache.set(w.record, w.task);
          (w.before ? change.changed : change.added).push(w.id);
        }
        // Carried lines are journaled like our own adds: a writer without the lock that read
        // before this commit and renames its copy over it would drop them otherwise.
        for (const line of carried) this.#journalCarried(line);
        this.#settle(taken, plan.results);
        taken = [];
        this.#emit(change);
        if (carried.length > 0) this.#emitCarried(carried);
        // Lines appended to the file we just replaced go into a follow-up commit.
        await this.#checkRetired();
        if (this.#carried.length === 0) return;
      }
      throw new YggError(`the store ${this.path} kept changing under us; gave up after 50 tries`, {
        hint: 'Another program is rewriting it continuously; stop it or retry.',
      });
    } catch (error) {
      const failure =
        error instanceof YggError
          ? error
          : new YggError(`cannot write ${this.path}: ${(error as Error).message}`, {
              cause: error,
              hint: 'Check free space and permissions of the folder.',
            });
      const failed = [...taken, ...this.#pending];
      this.#pending = [];
      this.#forceWrite = false;
      for (const op of failed) op.settle.reject(failure);
    } finally {
      await release?.();
      if (this.#hasWork()) this.#schedule();
    }
  }

  /**
   * A commit that only adds lines is appended in place instead of rewriting the file: no rename
   * can then replace a copy another writer just renamed there, and an add to a large file costs
   * its own bytes, not the file's. Large batches still go through a rename, so that a crash
   * mid-write cannot leave part of them (an append is one write, interrupted only between pages).
   */
  #onlyAppends(plan: Plan, carried: readonly Buffer[]): boolean {
    if (carried.length > 0 || this.#forceWrite || !this.#fileId || this.#lock.compromised) return false;
    return plan.writes.length > 0 && plan.writes.every((w) => !w.before);
  }

  async #appendLines(plan: Plan): Promise<FileId | 'rewrite' | undefined> {
    const known = this.#index.records.length;
    const lines = plan.records.slice(known).map((r) => r.raw);
    const lead = known > 0 && !this.#index.finalNewline ? [newline] : [];
    const bytes = Buffer.concat([...lead, ...lines.flatMap((line) => [line, newline])]);
    if (bytes.length > maxAppendBytes) return 'rewrite';
    return appendIfUnchanged(this.path, this.#fileId as FileId, bytes);
  }

  #journalCarried(line: Buffer): void {
    const { task } = parseLine(line);
    if (!task?.id) return;
    const record = this.#index.record(task.id);
    if (record?.raw.equals(line)) this.#journal.record(task.id, undefined, line, task, Date.now());
  }

  #emitCarried(lines: readonly Buffer[]): void {
    const ids: string[] = [];
    for (const line of lines) {
      try {
        const id = (JSON.parse(line.toString('utf8')) as Task).id;
        if (typeof id === 'string') ids.push(id);
      } catch {
        // a malformed line is kept as it is; it is not a task
      }
    }
    this.#emit({ added: ids, changed: [], removed: [], external: true });
  }

  #settle(ops: readonly StoreOp[], results: ReadonlyArray<Task | undefined | Error>): void {
    ops.forEach((op, i) => {
      const result = results[i];
      if (result instanceof Error) op.settle.reject(result);
      else op.settle.resolve(result);
    });
  }
}

/** Re-exported for callers that splice task objects into lines themselves. */
export const spliceTaskLine = (oldLine: string, next: Task): string =>
  spliceJson(oldLine, JSON.parse(oldLine), next, placeLikeBd);
