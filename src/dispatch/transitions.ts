/**
 * The task changes one attempt makes, as store mutations. Each checks the fencing token first:
 * a result from an attempt whose lease was lost (expired and taken by another loop, or the task
 * closed or reopened by someone else) is dropped, never written.
 */
import { makeComment } from '../store/operations.js';
import type { Mutation, MutationContext } from '../store/store.js';
import type { AttemptRecord, Task, YggMeta } from '../store/task.js';
import { statusOf, yggOf } from '../store/task.js';
import { nextTimestamp } from '../store/timestamps.js';
import { ownerIsDeadHere, yggAssignee } from './owner.js';

/** History entries kept on a task; older ones are dropped to keep the line small. */
const historyKept = 20;

export interface ClaimRequest {
  owner: string;
  host: string;
  leaseMs: number;
  now: number;
}

/** True when a task may be claimed now: open and unassigned (or ours), or its lease has lapsed. */
export function isClaimable(task: Task, owner: string, now: number): boolean {
  const status = statusOf(task);
  if (status === 'open') return !task.assignee || task.assignee === yggAssignee;
  if (status !== 'in_progress') return false;
  const lease = yggOf(task).lease;
  if (!lease) return false;
  return Date.parse(lease.expires) <= now || ownerIsDeadHere(lease.owner, owner);
}

export function claim(request: ClaimRequest): Mutation {
  return (task) => {
    if (!isClaimable(task, request.owner, request.now)) return undefined;
    const meta = yggOf(task);
    const stamp = nextTimestamp(task.updated_at, new Date(request.now));
    const token = (meta.lease?.token ?? 0) + 1;
    const attempt = (meta.attempt ?? 0) + 1;
    const history = [...(meta.history ?? [])];
    // A lapsed lease means the previous attempt's loop died: record it as lost.
    const last = history.at(-1);
    if (statusOf(task) === 'in_progress' && last && !last.end) {
      history[history.length - 1] = {
        ...last,
        end: stamp,
        outcome: 'lost',
        error: 'the loop running it stopped',
      };
    }
    history.push({ attempt, host: request.host, start: stamp });
    const next: Task = {
      ...task,
      status: 'in_progress',
      assignee: yggAssignee,
      updated_at: stamp,
    };
    if (!task.started_at) next.started_at = stamp;
    return withYgg(next, {
      ...meta,
      attempt,
      lease: {
        owner: request.owner,
        token,
        expires: new Date(request.now + request.leaseMs).toISOString(),
        host: request.host,
      },
      next_try_at: undefined,
      history: history.slice(-historyKept),
    });
  };
}

/** Extends our lease; declines when the token no longer holds (the task was taken or changed). */
export function renewLease(token: number, leaseMs: number, now: number): Mutation {
  return (task) => {
    if (!holds(task, token)) return undefined;
    const meta = yggOf(task);
    return withYgg(
      { ...task },
      { ...meta, lease: { ...meta.lease!, expires: new Date(now + leaseMs).toISOString() } },
    );
  };
}

export interface Ending {
  token: number;
  now: number;
  outcome: NonNullable<AttemptRecord['outcome']>;
  error?: string;
  /** How long the handler ran (kept on the attempt's record). */
  runMs?: number;
  /** Extra bookkeeping to keep under metadata.ygg (result metadata, model, tokens...). */
  extra?: Partial<YggMeta>;
}

/** Success: the task closes with its result as a comment. */
export function succeed(ending: Ending, closeReason: string, comment: string): Mutation {
  return (task, context) => {
    if (!holds(task, ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(ending.now));
    const next: Task = {
      ...task,
      status: 'closed',
      closed_at: stamp,
      close_reason: closeReason,
      updated_at: stamp,
    };
    return withYgg(withComment(next, comment, stamp, context), endMeta(task, ending, stamp));
  };
}

/** A failure with attempts left: the task reopens, to be retried at `nextTryAt`. */
export function retryLater(ending: Ending, nextTryAt: number): Mutation {
  return (task) => {
    if (!holds(task, ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(ending.now));
    const next: Task = { ...task, status: 'open', updated_at: stamp };
    delete next.assignee;
    return withYgg(next, { ...endMeta(task, ending, stamp), next_try_at: new Date(nextTryAt).toISOString() });
  };
}

/** The last attempt failed (or the error is not retryable): blocked, on the dead-letter list. */
export function deadLetter(ending: Ending, attempts: number, comment: string): Mutation {
  return (task, context) => {
    if (!holds(task, ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(ending.now));
    const next: Task = { ...task, status: 'blocked', updated_at: stamp };
    delete next.assignee;
    return withYgg(withComment(next, comment, stamp, context), {
      ...endMeta(task, ending, stamp),
      dead: { at: stamp, error: firstLine(ending.error ?? 'failed'), attempts },
    });
  };
}

/** Shutdown interrupted the attempt: back to open at once, the attempt not held against it. */
export function releaseInterrupted(ending: Ending): Mutation {
  return (task) => {
    if (!holds(task, ending.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(ending.now));
    const next: Task = { ...task, status: 'open', updated_at: stamp };
    delete next.assignee;
    const meta = endMeta(task, ending, stamp);
    return withYgg(next, { ...meta, attempt: Math.max(0, (meta.attempt ?? 1) - 1) });
  };
}

/** Records how the attempt ended when someone else changed the task (no status change of ours). */
export function noteCancelled(token: number, now: number, by: string, runMs?: number): Mutation {
  return (task) => {
    const meta = yggOf(task);
    if (meta.lease?.token !== token) return undefined;
    const stamp = nextTimestamp(task.updated_at, new Date(now));
    return withYgg(
      { ...task, updated_at: stamp },
      {
        ...endMeta(
          task,
          {
            token,
            now,
            outcome: 'cancelled',
            error: `cancelled by ${by}`,
            ...(runMs === undefined ? {} : { runMs }),
          },
          stamp,
        ),
        cancelled: meta.cancelled ?? { at: stamp, by },
      },
    );
  };
}

/** Attempts that counted against the task's limit (shutdown interruptions and lost runs do not). */
export function failedAttempts(task: Task): number {
  const meta = yggOf(task);
  // `ygg retry` starts the count again: only attempts after it count.
  const since = meta.retried_at ? Date.parse(meta.retried_at) : Number.NEGATIVE_INFINITY;
  return (meta.history ?? []).filter(
    (h) => (h.outcome === 'failed' || h.outcome === 'timeout') && Date.parse(h.start) >= since,
  ).length;
}

/** Attempts that ended because their host could not be reached (since the last `ygg retry`). */
export function unreachableAttempts(task: Task): number {
  const meta = yggOf(task);
  const since = meta.retried_at ? Date.parse(meta.retried_at) : Number.NEGATIVE_INFINITY;
  return (meta.history ?? []).filter((h) => h.outcome === 'unreachable' && Date.parse(h.start) >= since)
    .length;
}

/** Hosts this task already failed on, so a retry prefers another. */
export function failedHosts(task: Task): Set<string> {
  return new Set(
    (yggOf(task).history ?? [])
      .filter(
        (h) =>
          h.outcome === 'failed' ||
          h.outcome === 'timeout' ||
          h.outcome === 'lost' ||
          h.outcome === 'unreachable',
      )
      .map((h) => h.host),
  );
}

function holds(task: Task, token: number): boolean {
  return statusOf(task) === 'in_progress' && yggOf(task).lease?.token === token;
}

function endMeta(task: Task, ending: Ending, stamp: string): YggMeta {
  const meta = yggOf(task);
  const history = [...(meta.history ?? [])];
  const last = history.at(-1);
  if (last && !last.end) {
    const record: AttemptRecord = { ...last, end: stamp, outcome: ending.outcome };
    if (ending.error) record.error = firstLine(ending.error).slice(0, 500);
    if (ending.runMs !== undefined) record.run_ms = Math.round(ending.runMs);
    history[history.length - 1] = record;
  }
  const { lease: _released, ...rest } = meta;
  // The lease's token is kept so that the next claim's token is strictly greater.
  return {
    ...rest,
    ...ending.extra,
    lease: meta.lease ? { ...meta.lease, expires: stamp } : undefined,
    history,
  };
}

function withYgg(task: Task, meta: YggMeta): Task {
  const clean = Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined));
  const metadata =
    task.metadata && typeof task.metadata === 'object' && !Array.isArray(task.metadata)
      ? { ...(task.metadata as Record<string, unknown>), ygg: clean }
      : { ygg: clean };
  return { ...task, metadata };
}

function withComment(task: Task, text: string, stamp: string, context: MutationContext | undefined): Task {
  return {
    ...task,
    comments: [...(task.comments ?? []), makeComment(task, yggAssignee, text, stamp, context)],
  };
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
