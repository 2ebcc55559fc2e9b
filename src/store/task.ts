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
  limits?: Record<string, number | boolean>;
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
  [key: string]: unknown;
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

/** The task's status, with bd's default for a missing value. */
export function statusOf(task: Task): IssueStatus {
  return task.status ?? 'open';
}

/** The task's priority, with bd's importer default (0) for a missing value. */
export function priorityOf(task: Task): number {
  return typeof task.priority === 'number' ? task.priority : 0;
}

/** ygg's bookkeeping on a task (an empty object when there is none). */
export function yggOf(task: Task): YggMeta {
  const meta = task.metadata;
  if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
    const ygg = (meta as Record<string, unknown>).ygg;
    if (ygg && typeof ygg === 'object' && !Array.isArray(ygg)) return ygg as YggMeta;
  }
  return {};
}

/** Who submitted a task: `created_by`, else `owner`, else `anonymous`. */
export function submitterOf(task: Task): string {
  return task.created_by || task.owner || 'anonymous';
}
