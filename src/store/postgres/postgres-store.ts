/**
 * A TaskStore in PostgreSQL, so several dispatchers and submitters on different machines share
 * one queue.
 *
 * Reads are synchronous, from a mirror of the issues table loaded at `load()` and caught up on
 * NOTIFY (with a slow poll as a safety net). Writes are queued and committed in batches, one
 * transaction each: take the store's write lock (a transaction-level advisory lock), catch the
 * mirror up with every row newer than it (so the mutations see the database's state, other
 * dispatchers' leases included), apply the mutations, write the changed rows in one statement
 * with one new revision, NOTIFY, commit. Because every writer holds the lock until it commits,
 * revisions become visible in order, and "rows with revision > last seen" never misses one.
 */
import { resolve } from 'node:path';
import type pg from 'pg';
import { YggError } from '../../errors.js';
import { newTaskProblem } from '../new-task-check.js';
import type { Mutation, NewTask, SharedState, StoreChange, StoreProblem, TaskStore } from '../store.js';
import type { Task } from '../task.js';
import { BatchCommitter } from './batch-commit.js';
import type { BatchOp, BatchPlan } from './batch-plan.js';
import type { Written } from './commit-sql.js';
import { ConnectionState } from './connection-state.js';
import { DatabaseClock } from './db-clock.js';
import { postgresDispatcherRecords } from './dispatcher-records.js';
import { postgresHostCatalog } from './host-catalog.js';
import { ChangeListener } from './listener.js';
import { checkSchema } from './migrate.js';
import { IssueMirror, type MirrorRow } from './mirror.js';
import { OwnerLocks, ownerKey } from './owner-locks.js';
import { postgresCounters } from './shared-counters.js';
import { postgresSharedState } from './shared-state.js';
import { StorePool } from './store-pool.js';
import { redactUrl } from './url.js';

export interface PostgresStoreOptions {
  /** `postgres://…`; the password comes from PGPASSWORD or PGPASSFILE (never printed). */
  url: string;
  /** ygg's runtime folder on this machine (default: `.ygg/` in the current folder). */
  runtimeDir?: string;
  /** Safety-net poll while someone watches (default 5000 ms). */
  pollIntervalMs?: number;
  clock?: () => Date;
  /** Told once when the database goes away and when it is back. */
  onConnection?: (state: 'lost' | 'back', where: string) => void;
  /** Owner locks' timing (tests): see owner-locks.ts. */
  ownerLocks?: { pollMs?: number; deadAfterMs?: number; settleMs?: number };
}

interface Queued {
  op: BatchOp;
  resolve(task: Task | undefined): void;
  reject(error: Error): void;
}

const selectRows = 'SELECT seq, id, line, revision FROM ygg_issues WHERE revision > $1 ORDER BY seq';

export class PostgresStore implements TaskStore {
  /** The URL without its password (for messages). */
  readonly path: string;
  readonly runtimeDir: string;
  /** Pause and drained hosts, shared by every machine on the database. */
  readonly sharedState: SharedState;
  readonly hostCatalog = postgresHostCatalog(this, (fn) => this.#pool.withClient(fn));
  readonly dispatchers = postgresDispatcherRecords((fn) => this.#pool.withClient(fn));
  readonly counters = postgresCounters((fn) => this.#pool.withClient(fn));
  readonly connection = new ConnectionState((state) => this.#options.onConnection?.(state, this.path));
  readonly #url: string;
  readonly #options: PostgresStoreOptions;
  readonly #pool: StorePool;
  readonly #mirror: IssueMirror;
  readonly #committer: BatchCommitter;
  readonly #clock: () => Date;
  readonly sharedClock = new DatabaseClock({ withClient: (fn) => this.#pool.withClient(fn) });
  readonly #listeners = new Set<(change: StoreChange) => void>();
  readonly #settingListeners = new Set<() => void>();
  /** Which loops' session locks are held: fast takeover from a loop whose process died. */
  readonly ownerLocks: OwnerLocks;
  readonly defaultLeaseMs = 15_000; // a vanished machine's tasks (its lock still held) run elsewhere soon
  #queue: Queued[] = [];
  #scheduled = false;
  #chain: Promise<unknown> = Promise.resolve();
  #listener: ChangeListener | undefined;
  #refreshPending = false;
  #refreshing = false;
  /** The newest revision a NOTIFY told of; a look for anything (the poll, a reconnect). */
  #notified = 0;
  #lookAnyway = false;
  #lastCreated = 0;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    this.#options = options;
    this.#url = options.url;
    this.path = redactUrl(options.url);
    this.runtimeDir = options.runtimeDir ?? resolve('.ygg');
    this.#clock = options.clock ?? (() => new Date(this.sharedClock.now()));
    this.#mirror = new IssueMirror(this.path);
    this.#committer = new BatchCommitter(this.#mirror);
    this.#pool = new StorePool(options.url, this.path);
    this.ownerLocks = new OwnerLocks({
      ...options.ownerLocks,
      url: options.url,
      onChange: (keys) => this.#ownersChanged(keys),
    });
    this.sharedState = postgresSharedState({
      withClient: (fn) => this.#pool.withClient(fn),
      listen: (onChange) => {
        this.#settingListeners.add(onChange);
        this.#startListener();
        return () => {
          this.#settingListeners.delete(onChange);
          this.#stopListenerWhenUnused();
        };
      },
    });
  }

  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      await store.load();
    } catch (error) {
      await store.#pool.end().catch(() => undefined);
      throw error;
    }
    return store;
  }

  load(): Promise<void> {
    return this.#exclusive(async () => {
      const client = await this.#pool.connect();
      try {
        await checkSchema(client, this.#url);
        await this.sharedClock.measure(client);
        await this.#catchUp(client, false);
      } finally {
        client.release();
      }
    });
  }

  list(statuses?: readonly string[]): readonly Task[] {
    return this.#mirror.list(statuses);
  }

  /** The mirror holds every task already: nothing to save by reading them one at a time. */
  scan(options: { statuses?: readonly string[] } = {}): Iterable<Task> {
    return this.#mirror.list(options.statuses);
  }

  get(id: string): Task | undefined {
    return this.#mirror.get(id);
  }

  statusOf(id: string): string | undefined {
    return this.#mirror.statusOf(id);
  }

  ready(now: Date = this.#clock()): readonly Task[] {
    return this.#mirror.ready(now.getTime());
  }

  problems(): readonly StoreProblem[] {
    return this.#mirror.problems();
  }

  takeableWithLabel(label: string): number {
    return this.#mirror.takeableWithLabel(label);
  }

  update(id: string, mutation: Mutation): Promise<Task | undefined> {
    return this.#enqueue({ kind: 'update', id, mutation });
  }

  add(task: NewTask): Promise<Task> {
    const refused = newTaskProblem(task);
    if (refused) return Promise.reject(refused);
    return this.#enqueue({ kind: 'add', input: task }) as Promise<Task>;
  }

  async flush(): Promise<void> {
    while (this.#queue.length > 0) await this.#exclusive(() => this.#commit());
    await this.#exclusive(async () => undefined);
  }

  watch(listener: (change: StoreChange) => void): () => void {
    this.#listeners.add(listener);
    this.#startListener();
    return () => {
      this.#listeners.delete(listener);
      this.#stopListenerWhenUnused();
    };
  }

  holdOwner(owner: string): () => void {
    return this.ownerLocks.hold(owner);
  }

  ownerGone(owner: string): boolean {
    return this.ownerLocks.gone(owner);
  }

  /** Owners found gone (or back): their running tasks read as changed, so loops look again. */
  #ownersChanged(keys: ReadonlySet<number>): void {
    const changed = this.#mirror.idsWith(['in_progress']).filter((id) => {
      const owner = this.#mirror.leaseOwner(id);
      return owner !== undefined && keys.has(ownerKey(owner));
    });
    this.#emit({ added: [], changed, removed: [], external: true });
  }

  #startListener(): void {
    if (this.#listener || this.#closed) return;
    this.#listener = new ChangeListener({
      url: this.#url,
      pollIntervalMs: this.#options.pollIntervalMs ?? 5000,
      onChange: (revision) => this.#requestRefresh(revision),
      onSetting: () => {
        for (const listener of this.#settingListeners) listener();
      },
      onState: (state) => this.connection.set(state),
    });
    this.#listener.start();
  }

  #stopListenerWhenUnused(): void {
    if (this.#listeners.size > 0 || this.#settingListeners.size > 0) return;
    void this.#listener?.stop();
    this.#listener = undefined;
  }

  /** Catches up with the database now (what a NOTIFY does). */
  refresh(): Promise<void> {
    return this.#exclusive(() => this.#pool.withClient((client) => this.#catchUp(client, true)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    this.sharedClock.stop();
    await this.ownerLocks.close();
    await this.#listener?.stop();
    this.#listener = undefined;
    await this.#exclusive(() => this.#pool.end());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Takes in rows newer than the mirror; tells the listeners what changed. */
  async #catchUp(client: pg.ClientBase, external: boolean): Promise<void> {
    const rows = await client.query<MirrorRow>(selectRows, [this.#mirror.revision]);
    this.#takeIn(rows.rows, external);
  }

  #takeIn(rows: readonly MirrorRow[], external: boolean): void {
    const { added, changed } = this.#mirror.apply(rows);
    this.#emit({ added, changed, removed: [], external });
  }

  /** A NOTIFY or a poll: catch up; one that arrives during a catch-up runs another after it. */
  #requestRefresh(revision?: number): void {
    if (revision === undefined) this.#lookAnyway = true;
    else this.#notified = Math.max(this.#notified, revision);
    this.#refreshPending = true;
    if (this.#refreshing || this.#closed) return;
    this.#refreshing = true;
    void (async () => {
      try {
        while (this.#refreshPending && !this.#closed) {
          this.#refreshPending = false;
          await this.#exclusive(() => this.#catchUpIfBehind()).catch(() => undefined);
        }
      } finally {
        this.#refreshing = false;
      }
    })();
  }

  /**
   * A catch-up unless the mirror has what was notified already: our own commits' NOTIFYs, and
   * other writers' rows that a commit of ours read first (a round trip each, saved).
   */
  async #catchUpIfBehind(): Promise<void> {
    const anyway = this.#lookAnyway;
    this.#lookAnyway = false;
    if (!anyway && this.#notified <= this.#mirror.revision) return;
    await this.#pool.withClient((client) => this.#catchUp(client, true));
  }

  #enqueue(op: BatchOp): Promise<Task | undefined> {
    if (this.#closed) return Promise.reject(new YggError(`the store ${this.path} is closed`));
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#exclusive(() => this.#commit()).catch(() => undefined);
      });
    });
  }

  async #commit(): Promise<void> {
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      for (const item of batch) item.reject(error as Error);
      return;
    }
    const ops = batch.map((item) => item.op);
    let outcome: Awaited<ReturnType<BatchCommitter['commit']>>;
    try {
      outcome = await this.#committer.commit(client, ops, {
        nextCreatedMicros: () => this.#nextCreatedMicros(),
        ownerGone: (owner) => this.ownerGone(owner),
        now: () => this.#clock().getTime(),
        takeIn: (rows) => this.#takeIn(rows, true),
      });
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      const clean = this.#pool.cleanError(error, 'writing to');
      for (const item of batch) item.reject(clean);
      return;
    }
    client.release();
    this.#settle(batch, outcome.plan, outcome.written);
  }

  /** A batch written: the mirror takes our rows, each caller gets its outcome, listeners hear. */
  #settle(batch: readonly Queued[], plan: BatchPlan, written: Written): void {
    const added: string[] = [];
    const changed: string[] = [];
    if (plan.writes.size > 0) {
      for (const [id, { line, parsed }] of plan.writes) {
        (this.#mirror.has(id) ? changed : added).push(id);
        this.#mirror.set(id, line, written.seqs.get(id), parsed, written.revision);
      }
      // Ours are in; a later catch-up starts after them.
      this.#mirror.revision = Math.max(this.#mirror.revision, written.revision);
    }
    batch.forEach((item, i) => {
      const result = plan.results[i];
      if (result instanceof Error) item.reject(result);
      else item.resolve(result);
    });
    this.#emit({ added, changed, removed: [], external: false });
  }

  #nextCreatedMicros(): number {
    this.#lastCreated = Math.max(this.#clock().getTime() * 1000, this.#lastCreated + 1);
    return this.#lastCreated;
  }

  #emit(change: StoreChange): void {
    if (change.added.length + change.changed.length + change.removed.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure is its own; the store goes on
      }
    }
  }
}
