import type { HostCatalog } from './host-catalog.js';
import type { Task } from './task.js';

/** One problem found while reading the store; the line is kept as it is and never dropped. */
export interface StoreProblem {
  file: string;
  /** 1-based line number; 0 when the problem is with the file itself. */
  line: number;
  kind:
    | 'missing-file'
    | 'not-a-file'
    | 'permission'
    | 'malformed-json'
    | 'not-an-object'
    | 'invalid-utf8'
    | 'missing-id'
    | 'missing-title'
    | 'duplicate-id'
    | 'bad-priority'
    /** A key ygg reads has the wrong type (`key` names it): the task is kept but never run. */
    | 'bad-shape'
    /** Over 1 MiB: read, but worth moving the text into a file. */
    | 'too-large'
    /** Over the size limit (16 MiB): not read at all. */
    | 'over-size-limit'
    /** Nested deeper than the limit (512): not read at all. */
    | 'too-deep'
    /** A record of ygg's write-ahead journal cut short by a crash: dropped, never applied in part. */
    | 'torn-journal';
  /** For `bad-shape`: the key, as a dotted path (`metadata.ygg.history`). */
  key?: string;
  message: string;
  /** A plain next step for the user. */
  hint: string;
}

/** Which tasks a reload or a commit changed, by id. */
export interface StoreChange {
  added: string[];
  changed: string[];
  removed: string[];
  /** True when the change came from another writer (not this store's own commit). */
  external: boolean;
}

/**
 * A change to one task, applied at commit time to the freshest version of it (after any
 * concurrent writer's edit was merged). It returns the new task, or `undefined` to decline
 * (a compare-and-swap whose condition no longer holds). It must not mutate its argument.
 */
export type Mutation = (current: Task, context?: MutationContext) => Task | undefined;

/** What the store offers a mutation at commit time. */
export interface MutationContext {
  /** A new comment id in the file's style: the next integer where the file uses integers, else a UUID. */
  newCommentId(): number | string;
  /**
   * The issues with one of `statuses` as they stand at this point of the commit (earlier changes
   * in it included), read under the write lock: for a change that depends on others (a cap).
   */
  tasks(statuses: readonly string[]): Iterable<Task>;
  /**
   * How many changes this commit has applied so far. What a mutation derived from `tasks` stays
   * true while this is unchanged, so it may be kept across the mutations of one commit.
   */
  readonly changes: number;
  /**
   * True when the store knows the process of a lease's owner is gone (a store shared by machines
   * sees its session lock released): its leases count as lapsed now. Absent: only expiry counts.
   */
  ownerGone?(owner: string): boolean;
  /**
   * True in a commit planned before the store's lock, on a store that itself refuses two live
   * leases on one slot and a slot past its host's count (PostgreSQL): a claim need not count the
   * other tasks' leases, since a conflict fails the commit, which is then planned again under the
   * lock. A mutation that reads `tasks` anyway makes the commit wait for the lock.
   */
  readonly slotsGuarded?: boolean;
}

export interface NewTask {
  title: string;
  description?: string;
  design?: string;
  acceptance_criteria?: string;
  priority?: number;
  issue_type?: string;
  labels?: string[];
  assignee?: string;
  owner?: string;
  created_by?: string;
  /** Targets this task depends on (`blocks` means the target blocks this one). */
  dependencies?: { depends_on_id: string; type: string }[];
  metadata?: Record<string, unknown>;
  /**
   * Checked at commit time, under the write lock, against the freshest file (plus tasks added
   * before it in the same commit): an Error refuses the add, which then writes nothing. Used by
   * `ygg add` for queue limits, so two concurrent adds cannot both slip past one.
   */
  precondition?: (current: AddContext) => Error | undefined;
}

/** What an add's precondition sees. */
export interface AddContext {
  /**
   * Every issue in the file as it is now, then the tasks added earlier in this commit; with
   * `statuses`, only those (filtered before the lines are parsed: cheap on a large file).
   */
  tasks(statuses?: readonly string[]): readonly Task[];
}

/**
 * Small named JSON values every machine on a store shares (a database store has them; the file
 * store keeps such state in files under its runtime folder instead).
 */
export interface SharedState {
  read(key: string): Promise<unknown>;
  /** Changes the value atomically against concurrent writers; resolves with the value written. */
  update(key: string, change: (current: unknown) => unknown): Promise<unknown>;
  /** Calls `onChange` when a value may have changed (any machine's write). Returns a stop function. */
  watch(onChange: () => void): () => void;
}

/**
 * Each running dispatcher's status record, kept by a store shared by machines so that a monitor
 * anywhere sees every dispatcher (the file store keeps them under `.ygg/loops/` instead).
 */
export interface DispatcherRecords {
  /** Writes (or refreshes) one dispatcher's record; its heartbeat is the store's clock now. */
  put(owner: string, record: object): Promise<void>;
  remove(owner: string): Promise<void>;
  /** The records refreshed within `freshMs` on the store's clock, as written. */
  live(freshMs: number): Promise<unknown[]>;
}

/** One counter of `ygg stats`: `scope` is `submitters` or `types`. */
export interface CounterAmount {
  scope: string;
  key: string;
  field: string;
  value: number;
}

/**
 * The counters of `ygg stats` kept by a store shared by machines, summed over every dispatcher
 * on it (the file store keeps them in `.ygg/counters.json` instead).
 */
export interface SharedCounters {
  /** Adds each amount to its counter, atomically against other machines' adds. */
  add(amounts: readonly CounterAmount[]): Promise<void>;
  read(): Promise<CounterAmount[]>;
}

/** A store reached over the network: whether it can be reached now. */
export interface StoreConnection {
  /** When the store was found unreachable (ms since the epoch); undefined while it is reachable. */
  readonly lostSince: number | undefined;
  /** Called when it goes away and when it is back. Returns a stop function. */
  onChange(listener: () => void): () => void;
}

export interface TaskStore extends AsyncDisposable {
  /** The Beads file this store reads and writes. */
  readonly path: string;
  /** ygg's runtime folder beside `.beads/` (state, lock, logs, artifacts). */
  readonly runtimeDir: string;
  /** State shared by every machine on the store, when the store has a place for it. */
  readonly sharedState?: SharedState;
  /** The hosts and slots every dispatcher on the store follows, when machines share it. */
  readonly hostCatalog?: HostCatalog;
  /** Every dispatcher's status record, when the store has a place for them. */
  readonly dispatchers?: DispatcherRecords;
  /** The counters of `ygg stats`, when the store has a place for them. */
  readonly counters?: SharedCounters;
  /** Whether the store can be reached now, for a store over the network. */
  readonly connection?: StoreConnection;
  /** Read (or re-read) the file. Problems are reported, never thrown, except an unreadable file. */
  load(): Promise<void>;
  /**
   * Every issue line in file order (not `memory` or other `_type` lines); with `statuses`, only
   * issues in one of them, picked before any line is parsed (cheap on a large file).
   */
  list(statuses?: readonly string[]): readonly Task[];
  /**
   * The issues `list` gives, one at a time, each read as it is reached: for a pass over the
   * whole store that keeps little of it (100,000 tasks held at once are over 100 MB).
   * `mentioning`: skip lines whose text does not contain it, before they are parsed (a cheap
   * pre-filter, such as a key name: the caller still checks each task it gets).
   */
  scan(options?: { statuses?: readonly string[]; mentioning?: string }): Iterable<Task>;
  get(id: string): Task | undefined;
  /** A task's status without reading the rest of it (cheap: no parse); undefined when missing. */
  statusOf(id: string): string | undefined;
  /** bd's ready rules (BEADS-FORMAT.md), ordered by priority, oldest `created_at`, then id. Cheap to call often. */
  ready(now?: Date): readonly Task[];
  /**
   * How many open or in-progress tasks carry `label` (cheap: kept as tasks change): those a pass
   * may take (ready, or a lapsed lease's). Where it is 0 none of them has it, and a look at each
   * for it (a boost) is saved. Absent: not kept.
   */
  takeableWithLabel?(label: string): number;
  problems(): readonly StoreProblem[];
  /**
   * Apply a mutation durably. Resolves with the task as written, or `undefined` when the task is
   * missing or the mutation declined. Updates queued in the same short window share one commit.
   */
  update(id: string, mutation: Mutation): Promise<Task | undefined>;
  /**
   * Append a new task with a bd-style hash id using the file's prefix. `handedOff`: a command
   * handed this add to this store's loop (the file store writes it to its journal, as the
   * command's own write would have gone, never to the Beads file alone).
   */
  add(task: NewTask, options?: { handedOff?: boolean }): Promise<Task>;
  /** Reads now what other writers changed (the file store; a database store reads on demand). */
  refresh?(): Promise<void>;
  /** Resolves once everything queued is on disk. */
  flush(): Promise<void>;
  /** Listen for changes, ours and other writers'. Returns an unsubscribe function. */
  watch(listener: (change: StoreChange) => void): () => void;
  /**
   * A store shared by machines: marks `owner` (a running loop's lease owner) alive until the
   * returned function is called, so the other loops learn at once when its process dies. Its
   * tasks then read as changed (external) in `watch`.
   */
  holdOwner?(owner: string): () => void;
  /** True when `owner`'s process is known to be gone: its leases count as lapsed (see `holdOwner`). */
  ownerGone?(owner: string): boolean;
  /** The lease length when hosts.yaml sets none (`queue.lease`); absent: the config's default. */
  readonly defaultLeaseMs?: number;
  /**
   * The store's clock, when machines share the store (`now()`: ms since the epoch): leases are
   * written and judged on it, so machines whose clocks disagree still agree on them.
   */
  readonly sharedClock?: { now(): number };
  close(): Promise<void>;
  /**
   * A short-lived writer (a command) while a loop watches the store: its changes, adds included,
   * go to the file store's journal, which that loop folds into the Beads file within a second. So
   * nothing it writes is ever in the Beads file alone, where a writer without the lock (bd)
   * renaming an older copy over it could undo it, and close() neither folds nor waits to check.
   */
  handOffToLoop?(): void;
  /**
   * A short-lived writer with no loop to hand off to: if all it did was append new tasks, the
   * check that no writer without the lock undid them (close() waits 250 ms for it) is handed to
   * `watch`, which runs it in another process, so that close() returns at once.
   */
  settleElsewhere?(watch: WatchElsewhere): void;
}

/** The adds a command leaves for another process to guard against stale writers (file store). */
export interface AddsToGuard {
  /** The Beads file and ygg's runtime folder beside it. */
  path: string;
  runtimeDir: string;
  /** The lines appended, as written. */
  lines: Buffer[];
  /** When they landed in the Beads file (ms since the epoch). */
  committedAt: number;
  /** How long after that a writer without the lock may still undo them. */
  settleMs: number;
}

/** Resolves true once another process guards the adds; false (or a rejection): close() waits itself. */
export type WatchElsewhere = (adds: AddsToGuard) => Promise<boolean>;
