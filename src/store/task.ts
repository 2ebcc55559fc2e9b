import { isPlainObject, yggFieldChecks } from './task-shape.js';

/**
 * A task is one Beads issue: one line of `.beads/issues.jsonl` (see BEADS-FORMAT.md).
 * The object keeps every key of the line, in order, including keys ygg does not know.
 */

export type IssueStatus =
  | 'open'
  | 'in_progress'
  | 'blocked'
  | 'deferred'
  | 'closed'
  | 'pinned'
  | 'hooked'
  | 'tombstone'
  | (string & {});

export interface Dependency {
  issue_id: string;
  depends_on_id: string;
  type: string;
  created_at?: string;
  created_by?: string;
  /** JSON text, as bd writes it. */
  metadata?: string;
  [key: string]: unknown;
}

export interface Comment {
  id: number | string;
  issue_id: string;
  author: string;
  text: string;
  created_at: string;
  [key: string]: unknown;
}

/** ygg's own bookkeeping, kept under `metadata.ygg` on the task. */
export interface YggMeta {
  /** Handler plugin named by the submitter; wins over the type's handler. */
  handler?: string;
  /** Command for the `shell` handler, an argv array (never a shell string). */
  argv?: string[];
  /** Simulated model time for the `simulate` handler, in milliseconds. */
  simulate_ms?: number;
  /** Per-task overrides set by the submitter. */
  timeout_ms?: number;
  hard_timeout_ms?: number;
  attempts?: number;
  /** Sandbox limits in hosts.yaml's keys and units (checked when the attempt starts). */
  limits?: Record<string, unknown>;
  /** Attempt number of the current or last run (1-based). */
  attempt?: number;
  lease?: Lease;
  /** ISO time before which a retrying task is not started again. */
  next_try_at?: string;
  /** Set when the task is dead-lettered (blocked after its last attempt). */
  dead?: { at: string; error: string; attempts: number };
  /** Set by `ygg retry`: attempts before this time no longer count against the limit. */
  retried_at?: string;
  /** Set when the task ended by cancellation. */
  cancelled?: { at: string; by?: string };
  history?: AttemptRecord[];
  /** Set when a task started with the queue's boost label: the boost is used up (ISO time). */
  boosted?: string;
  /**
   * Attempts taken over from a lapsed lease whose commands may still run on their host (their
   * loop died, their processes need not have): ended there before the task runs again.
   */
  unended?: UnendedAttempt[];
  [key: string]: unknown;
}

export interface UnendedAttempt {
  host: string;
  /** The lapsed lease's token: its commands carry `YGG_ATTEMPT=ID/TOKEN` in their environment. */
  token: number;
  attempt: number;
}

export interface Lease {
  owner: string;
  /** Fencing token: strictly increasing per task; a result carrying an older one is dropped. */
  token: number;
  /** ISO time after which another loop may claim the task. */
  expires: string;
  host?: string;
  /** The slot's index on the host (unique among live leases there; it picks the GPUs). */
  slot?: number;
  /** The task's type when claimed: caps count it across every loop on the store. */
  type?: string;
  /** Set while the attempt waits on a tool and lends its slot to other work. */
  lent?: boolean;
}

export interface AttemptRecord {
  attempt: number;
  host: string;
  /** The type the attempt ran as (the loop's type rules when it claimed it; what `ygg stats` counts). */
  type?: string;
  start: string;
  end?: string;
  /** `unreachable`: the host could not be reached (does not count against the attempts). */
  outcome?: 'succeeded' | 'failed' | 'timeout' | 'cancelled' | 'lost' | 'unreachable';
  error?: string;
  /** How long the handler ran, in ms (start and end are stamped to bd's precision, seconds). */
  run_ms?: number;
}

export interface Task {
  _type?: string;
  id: string;
  title: string;
  description?: string;
  design?: string;
  acceptance_criteria?: string;
  notes?: string;
  status?: IssueStatus;
  priority?: number;
  issue_type?: string;
  assignee?: string;
  owner?: string;
  created_by?: string;
  created_at?: string;
  updated_at?: string;
  started_at?: string;
  closed_at?: string;
  close_reason?: string;
  defer_until?: string;
  metadata?: unknown;
  labels?: string[];
  dependencies?: Dependency[];
  comments?: Comment[];
  pinned?: boolean;
  ephemeral?: boolean;
  [key: string]: unknown;
}

/** What `statusOf` answers for a status that is not a string (a store problem; never ready). */
export const invalidStatus = '(not a string)';

/**
 * The task's status, with bd's default for a missing (or null, or empty) value. Never throws: a
 * status that is not a string reads as `invalidStatus`, which no rule treats as open.
 */
export function statusOf(task: Task): IssueStatus {
  const status: unknown = task.status;
  if (status === undefined || status === null || status === '') return 'open';
  return typeof status === 'string' ? status : invalidStatus;
}

/** The task's priority, with bd's importer default (0) for a missing value. */
export function priorityOf(task: Task): number {
  return typeof task.priority === 'number' && Number.isFinite(task.priority) ? task.priority : 0;
}

const yggViews = new WeakMap<object, YggMeta>();

/**
 * ygg's bookkeeping on a task (an empty object when there is none). Never throws and hands out
 * only well-shaped values: a key of the wrong shape (`history` that is not an array, a `lease`
 * without a string owner...) reads as absent. Such a task is a store problem (`taskShapeProblem`)
 * that is never run nor changed, so the view only keeps readers (lists, counts, views) safe.
 */
export function yggOf(task: Task): YggMeta {
  const meta: unknown = task?.metadata;
  if (!isPlainObject(meta)) return {};
  const ygg = meta.ygg;
  if (!isPlainObject(ygg)) return {};
  const known = yggViews.get(ygg);
  if (known) return known;
  let view: Record<string, unknown> = ygg;
  for (const [name, check] of Object.entries(yggFieldChecks)) {
    const value = ygg[name];
    if (value === undefined || !check(value, name)) continue;
    if (view === ygg) view = { ...ygg };
    delete view[name];
  }
  yggViews.set(ygg, view as YggMeta);
  return view as YggMeta;
}

/**
 * Marks `metadata.ygg` built by ygg's own lifecycle from a view `yggOf` returned and fields of
 * the documented shape, so reading it back skips the checks: a task's history is checked once
 * when read from the file, not again after each of the dozens of changes a busy loop makes.
 */
export function trustedYgg<T extends YggMeta>(ygg: T): T {
  yggViews.set(ygg, ygg);
  return ygg;
}

/** True when the task's `metadata.ygg` is one `trustedYgg` marked (built by the lifecycle). */
export function hasTrustedYgg(task: Task): boolean {
  const meta: unknown = task?.metadata;
  if (!isPlainObject(meta) || !isPlainObject(meta.ygg)) return false;
  return yggViews.get(meta.ygg) === meta.ygg;
}

/** The task's well-formed dependencies (objects with string `depends_on_id` and `type`); never throws. */
export function dependenciesOf(task: Task): Dependency[] {
  const deps: unknown = task.dependencies;
  if (!Array.isArray(deps)) return [];
  return deps.filter(
    (d): d is Dependency =>
      isPlainObject(d) && typeof d.depends_on_id === 'string' && typeof d.type === 'string',
  );
}

/** The task's labels that are strings (none when `labels` is not an array); never throws. */
export function labelsOf(task: Pick<Task, 'labels'>): string[] {
  const labels: unknown = task.labels;
  if (!Array.isArray(labels)) return [];
  return labels.every((l) => typeof l === 'string') ? labels : labels.filter((l) => typeof l === 'string');
}

const nonEmptyString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** Who submitted a task: `created_by`, else `owner`, else `anonymous`. */
export function submitterOf(task: Task): string {
  return nonEmptyString(task.created_by) ?? nonEmptyString(task.owner) ?? 'anonymous';
}
