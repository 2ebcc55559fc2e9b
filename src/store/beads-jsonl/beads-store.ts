import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { YggError } from '../../errors.js';
import { newTaskProblem } from '../new-task-check.js';
import type { Mutation, NewTask, StoreChange, StoreProblem, TaskStore, WatchElsewhere } from '../store.js';
import type { Task } from '../task.js';
import { diffIndexes, isEmptyChange } from './change-diff.js';
import { settleWrites } from './close-settle.js';
import type { PlanEnv, Settle, StoreOp } from './commit-plan.js';
import { Committer } from './committer.js';
import { sameFile, statPath } from './file-io.js';
import { FileState } from './file-state.js';
import { WriteJournal } from './journal.js';
import type { LineRecord } from './line-record.js';
import { runtimeDirFor } from './locate.js';
import { computeReadyBase, type ReadyBase, readyAt } from './ready.js';
import { repairOps } from './repair-ops.js';
import { StoreLock } from './store-lock.js';
import type { BeadsStoreOptions, StoreStats } from './store-options.js';
import { FileWatcher } from './watcher.js';

export type { BeadsStoreOptions, StoreStats } from './store-options.js';

/**
 * The default TaskStore: a Beads JSONL file.
 *
 * Reads keep each line's bytes and a slim index (`FileState`); whole task objects are built when
 * asked for. Writes are queued and committed in groups, one at a time, by the `Committer`.
 */
export class BeadsJsonlStore implements TaskStore {
  readonly path: string;
  readonly runtimeDir: string;
  readonly #options: BeadsStoreOptions;
  readonly #file: FileState;
  readonly #journal: WriteJournal;
  readonly #committer: Committer;
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
  #scheduled = false;
  #chain: Promise<unknown> = Promise.resolve();
  #watcher: FileWatcher | undefined;
  #walWatcher: FileWatcher | undefined;
  #foldTimer: NodeJS.Timeout | undefined;
  #lastCreated = 0;
  #closed = false;
  #watchElsewhere: WatchElsewhere | undefined;
  #ready:
    | { version: number; base: ReadyBase; at?: { from: number; until: number; tasks: Task[] } }
    | undefined;

  constructor(options: BeadsStoreOptions) {
    this.#options = options;
    this.path = options.path;
    this.runtimeDir = options.runtimeDir ?? runtimeDirFor(options.path);
    const lock = new StoreLock(this.path, join(this.runtimeDir, `${basename(this.path)}.lock`), {
      ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
      ...(options.lockStaleMs !== undefined ? { staleMs: options.lockStaleMs } : {}),
    });
    this.#journal = new WriteJournal(options.clobberWindowMs ?? 60_000);
    this.#clock = options.clock ?? (() => new Date());
    this.#file = new FileState(this.path, join(this.runtimeDir, `${basename(this.path)}.wal`), this.#clock);
    this.#committer = new Committer({
      file: this.#file,
      lock,
      journal: this.#journal,
      reload: async () => {
        const change = await this.#reload(false, true);
        if (change) this.#emit(change);
      },
      planEnv: () => this.#planEnv(),
      emit: (change) => this.#emit(change),
      remember: (record, task) => this.#cache.set(record, task),
      counted: (what, n = 1) => {
        if (what === 'commit') this.#stats.commits += n;
        else this.#stats.carriedLines += n;
      },
    });
    this.#committer.journalMode = options.journal ?? false;
    this.#file.history = (id) => this.#journal.seenOf(id);
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

  async load(): Promise<void> {
    await this.#exclusive(async () => {
      const change = await this.#reload(true);
      if (change) this.#emit(change);
    });
    // Replays a journal left by a writer that died (or fold it now in journal mode), under the lock.
    const wal = this.#file.wal;
    if (wal.nonEmpty && (this.#committer.journalMode || Date.now() - wal.writtenAt > 2 * this.#foldMs)) {
      await this.fold();
    }
  }

  /** Folds the journal into the Beads file now (a whole rewrite under the lock). */
  async fold(): Promise<void> {
    this.#committer.foldRequested = true;
    this.#schedule();
    await this.flush();
  }

  list(statuses?: readonly string[]): readonly Task[] {
    const out: Task[] = [];
    const index = this.#file.index;
    for (const at of index.positions.values()) {
      const record = index.records[at] as LineRecord;
      if (statuses && !statuses.includes(record.issue?.status as string)) continue;
      out.push(this.#taskOf(record, false));
    }
    return out;
  }

  *scan(options: { statuses?: readonly string[]; mentioning?: string } = {}): Iterable<Task> {
    const { statuses, mentioning } = options;
    const index = this.#file.index;
    for (const at of index.positions.values()) {
      const record = index.records[at] as LineRecord;
      if (statuses && !statuses.includes(record.issue?.status as string)) continue;
      if (mentioning !== undefined && !record.raw.includes(mentioning)) continue;
      yield this.#taskOf(record, false);
    }
  }

  get(id: string): Task | undefined {
    const record = this.#file.index.record(id);
    return record ? this.#taskOf(record, true) : undefined;
  }

  statusOf(id: string): string | undefined {
    const record = this.#file.index.record(id);
    if (record?.kind !== 'issue') return undefined;
    const status: unknown = record.issue?.status;
    if (status === undefined || status === null) return 'open';
    return typeof status === 'string' ? status : '(not a string)';
  }

  ready(now: Date = this.#clock()): readonly Task[] {
    const { index, version } = this.#file;
    if (!this.#ready || this.#ready.version !== version) {
      // Only open issues can be ready: the rest of a large store is not looked at.
      this.#ready = { version, base: computeReadyBase(index.withStatus('open'), index.slims) };
    }
    const nowMs = now.getTime();
    const at = this.#ready.at;
    if (at && at.from <= nowMs && nowMs < at.until) return at.tasks;
    const { ready, validUntil } = readyAt(this.#ready.base, nowMs);
    const tasks = ready.map((slim) => this.#taskOf(index.record(slim.id) as LineRecord, true));
    this.#ready.at = { from: nowMs, until: validUntil, tasks };
    return tasks;
  }

  problems(): readonly StoreProblem[] {
    return [...this.#file.fileProblems, ...this.#file.index.problems, ...this.#file.wal.problems];
  }

  update(id: string, mutation: Mutation): Promise<Task | undefined> {
    return this.#enqueue<Task | undefined>((settle) => ({ kind: 'update', id, mutation, settle }));
  }

  add(task: NewTask, options: { handedOff?: boolean } = {}): Promise<Task> {
    const refused = newTaskProblem(task);
    if (refused) return Promise.reject(refused);
    const handedOff = options.handedOff === true;
    return this.#enqueue<Task>((settle) => ({ kind: 'add', input: task, handedOff, settle }));
  }

  /** Writes the whole file again even when nothing changed (it comes out byte for byte the same). */
  async rewrite(): Promise<void> {
    this.#committer.forceWrite = true;
    this.#schedule();
    await this.flush();
  }

  async flush(): Promise<void> {
    for (let round = 0; round < 1000 && this.#committer.hasWork(); round++) {
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
      // The journal's folder must exist to be watched.
      try {
        mkdirSync(this.runtimeDir, { recursive: true });
      } catch {
        // a read-only folder: the poll still notices the journal's changes
      }
      this.#walWatcher = new FileWatcher(this.#file.wal.path, this.#options.pollIntervalMs ?? 5000, () => {
        void this.#exclusive(() => this.#refresh()).catch(() => undefined);
      });
      this.#walWatcher.start();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stopWatching();
    };
  }

  /** Changes, adds too, go to the journal for a live loop to fold: close() neither folds nor waits. */
  handOffToLoop(): void {
    this.#committer.handOff = true;
  }

  settleElsewhere(watch: WatchElsewhere): void {
    this.#watchElsewhere = watch;
  }

  /** Guards adds another process made (`settleElsewhere`) as our own, until close() (see close-settle.ts). */
  guardAdds(lines: readonly Buffer[], committedAt: number): void {
    this.#journal.recordAdds(lines, Date.now());
    this.#committer.lastCommitAt = Math.max(this.#committer.lastCommitAt, committedAt);
    this.#queueRepairs();
  }

  /** Checks the file now (what the watcher does on an event). */
  refresh(): Promise<void> {
    return this.#exclusive(() => this.#refresh());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopWatching();
    clearTimeout(this.#foldTimer);
    await this.flush();
    if (this.#committer.journalMode) await this.fold();
    await settleWrites({
      committer: this.#committer,
      journal: this.#journal,
      path: this.path,
      runtimeDir: this.runtimeDir,
      settleMs: this.#options.settleMs ?? 250,
      watchElsewhere: this.#watchElsewhere,
      refresh: () => this.#exclusive(() => this.#refresh()),
      flush: () => this.flush(),
    });
    this.#closed = true;
    await this.#exclusive(async () => {
      await this.#committer.releaseLock();
      await this.#file.closeHandles();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  get #foldMs(): number {
    return this.#options.foldMs ?? 1000;
  }

  #stopWatching(): void {
    this.#watcher?.stop();
    this.#walWatcher?.stop();
    this.#watcher = undefined;
    this.#walWatcher = undefined;
  }

  /** Journal mode: a fold `foldMs` after the first write the journal holds unfolded. */
  #armFold(): void {
    if (!this.#committer.journalMode || this.#foldTimer || this.#closed || this.#file.wal.pending === 0)
      return;
    this.#foldTimer = setTimeout(() => {
      this.#foldTimer = undefined;
      this.#committer.foldRequested = true;
      this.#schedule();
    }, this.#foldMs);
    this.#foldTimer.unref();
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #enqueue<T>(make: (settle: Settle) => StoreOp): Promise<T> {
    if (this.#closed) return Promise.reject(new YggError(`the store ${this.path} is closed`));
    return new Promise<T>((resolve, reject) => {
      this.#committer.queue(make({ resolve: resolve as (t: Task | undefined) => void, reject }));
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

  async #commit(): Promise<void> {
    try {
      await this.#committer.commit();
    } finally {
      if (this.#committer.hasWork()) this.#schedule();
      this.#armFold();
    }
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
  async #reload(initial: boolean, locked = false): Promise<StoreChange | undefined> {
    const { before, parsed } = await this.#file.reload(locked);
    this.#stats.linesParsed += parsed;
    this.#stats.reloads++;
    const after = this.#file.index;
    if (initial && before.records.length === 0) return diffIndexes(before, after, false);
    this.#queueRepairs();
    return diffIndexes(before, after, true);
  }

  #queueRepairs(): void {
    const ops = repairOps(this.#journal, this.#file.index, (r) => this.#taskOf(r, false), this.#clock());
    this.#stats.repairs += ops.length;
    if (ops.length === 0) return;
    this.#committer.queueFirst(ops);
    this.#schedule();
  }

  /** Outside a commit: notices other writers (and appends to a file we replaced). */
  async #refresh(): Promise<void> {
    if (this.#closed) return;
    const current = await statPath(this.path);
    if ((current && !sameFile(current, this.#file.fileId)) || (await this.#file.wal.changedOnDisk())) {
      const change = await this.#reload(false);
      if (change) this.#emit(change);
    }
    this.#stats.carriedLines += await this.#file.checkRetired();
    if (this.#file.carried.length > 0) this.#schedule();
    this.#armFold(); // records a command handed to us (handOffToLoop) are ours to fold
  }

  #planEnv(): PlanEnv {
    return {
      now: this.#clock(),
      nextCreatedMicros: () => {
        this.#lastCreated = Math.max(this.#clock().getTime() * 1000, this.#lastCreated + 1);
        return this.#lastCreated;
      },
      carried: this.#file.carried,
      taskOf: (record) => this.#taskOf(record, true),
    };
  }
}
