/**
 * Pure mutation builders for the dispatcher: each returns a Mutation the store applies at
 * commit time to the freshest version of the task. Conditions are compare-and-swap: when one no
 * longer holds, the mutation declines (returns undefined) and nothing is written. `now` is
 * injectable everywhere so tests control time.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Mutation, MutationContext } from './store.js';
import { type Comment, type Lease, statusOf, type Task, type YggMeta, yggOf } from './task.js';
import { nextTimestamp } from './timestamps.js';

/** Comments longer than this are cut (results can be huge; the line must stay readable). */
export const maxCommentBytes = 16 * 1024;

export interface ClaimOptions {
  /** Who claims: becomes `assignee` and the lease owner. */
  owner: string;
  leaseMs: number;
  host?: string;
  /** Attempt number to record (default: the previous one plus one). */
  attempt?: number;
  now?: Date;
  /**
   * A per-type cap across every loop on the store (`types.NAME.max_concurrent`): the claim is
   * declined when `max` tasks of `type` already run under live leases, checked under the lock.
   */
  cap?: { type: string; max: number; typeOf: (task: Task) => string };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets `metadata.ygg`, keeping every other metadata key; undefined patch values remove keys. */
export function withYgg(task: Task, patch: Partial<YggMeta>): Task | undefined {
  if (task.metadata !== undefined && !isObject(task.metadata)) return undefined; // not ours to reshape
  const metadata = { ...(task.metadata as Record<string, unknown> | undefined) };
  const ygg: Record<string, unknown> = { ...yggOf(task) };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete ygg[key];
    else ygg[key] = value;
  }
  metadata.ygg = ygg;
  return { ...task, metadata };
}

function leaseExpired(lease: Lease | undefined, now: Date): boolean {
  if (!lease) return true;
  const expires = Date.parse(lease.expires);
  return Number.isNaN(expires) || expires <= now.getTime();
}

/** Whether `owner` may claim the task now. */
export function canClaim(task: Task, owner: string, now: Date = new Date()): boolean {
  const status = statusOf(task);
  if (status === 'open') return !task.assignee || task.assignee === owner;
  if (status === 'in_progress')
    return leaseExpired(yggOf(task).lease, now) && yggOf(task).lease !== undefined;
  return false;
}

/**
 * Claim (bd's `update --claim`, plus a lease): only an `open` task with no assignee or ours, or
 * an `in_progress` task whose ygg lease expired (its loop died). Sets assignee, status,
 * `started_at` once, `updated_at`, and a lease whose fencing token goes up by one.
 */
export function claim(options: ClaimOptions): Mutation {
  return (task, context) => {
    const now = options.now ?? new Date();
    if (!canClaim(task, options.owner, now)) return undefined;
    const cap = options.cap;
    if (cap) {
      const running = (context?.tasks(['in_progress']) ?? []).filter(
        (t) => t.id !== task.id && !leaseExpired(yggOf(t).lease, now) && cap.typeOf(t) === cap.type,
      );
      if (running.length >= cap.max) return undefined;
    }
    const meta = yggOf(task);
    const stamp = nextTimestamp(task.updated_at, now);
    const lease: Lease = {
      owner: options.owner,
      token: (meta.lease?.token ?? 0) + 1,
      expires: new Date(now.getTime() + options.leaseMs).toISOString(),
      host: options.host ?? hostname(),
    };
    const next: Task = { ...task, assignee: options.owner, status: 'in_progress', updated_at: stamp };
    if (!task.started_at) next.started_at = stamp;
    return withYgg(next, { lease, attempt: options.attempt ?? (meta.attempt ?? 0) + 1 });
  };
}

const holds = (task: Task, token: number) =>
  statusOf(task) === 'in_progress' && yggOf(task).lease?.token === token;

/** Extends the lease, only while our fencing token still holds. */
export function renewLease(token: number, leaseMs: number, now?: Date): Mutation {
  return (task) => {
    const at = now ?? new Date();
    const lease = yggOf(task).lease;
    if (!lease || !holds(task, token)) return undefined;
    const next = { ...task, updated_at: nextTimestamp(task.updated_at, at) };
    return withYgg(next, { lease: { ...lease, expires: new Date(at.getTime() + leaseMs).toISOString() } });
  };
}

/** A comment in bd's shape; the text is cut to `maxCommentBytes`. */
export function makeComment(
  task: Task,
  author: string,
  text: string,
  createdAt: string,
  context?: MutationContext,
): Comment {
  return {
    id: context?.newCommentId() ?? randomUUID(),
    issue_id: task.id,
    author,
    text: boundText(text),
    created_at: createdAt,
  };
}

export function boundText(text: string, max = maxCommentBytes): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return text;
  const marker = `\n… [cut: ${bytes.length - max} more bytes]`;
  // Cut on a character boundary: decode and drop a trailing partial character.
  return (
    bytes
      .subarray(0, max)
      .toString('utf8')
      .replace(/\uFFFD$/, '') + marker
  );
}

export interface CommentOptions {
  author: string;
  text: string;
  now?: Date;
}

/** Adds a comment (bd's shape: integer ids where the file uses them, else a UUID). */
export function addComment(options: CommentOptions): Mutation {
  return (task, context) => {
    const stamp = nextTimestamp(task.updated_at, options.now ?? new Date());
    const comment = makeComment(task, options.author, options.text, stamp, context);
    return { ...task, comments: [...(task.comments ?? []), comment], updated_at: stamp };
  };
}

export interface CloseOptions {
  /** Fencing: the lease token of the attempt that finished; omit to close unconditionally. */
  token?: number;
  reason: string;
  /** Result text, added as a comment. */
  result?: string;
  author?: string;
  now?: Date;
}

/** Close: `status: closed`, `closed_at`, `close_reason`; only while our lease token holds. */
export function closeTask(options: CloseOptions): Mutation {
  return (task, context) => {
    if (options.token !== undefined && !holds(task, options.token)) return undefined;
    if (options.token === undefined && statusOf(task) === 'closed') return undefined;
    const stamp = nextTimestamp(task.updated_at, options.now ?? new Date());
    let next: Task = {
      ...task,
      status: 'closed',
      closed_at: stamp,
      close_reason: options.reason,
      updated_at: stamp,
    };
    if (options.result !== undefined) {
      const comment = makeComment(task, options.author ?? 'ygg', options.result, stamp, context);
      next.comments = [...(task.comments ?? []), comment];
    }
    next = withYgg(next, { lease: undefined }) ?? next;
    return next;
  };
}

export interface ReopenOptions {
  /** Also clear the assignee, so any loop may claim it again. */
  clearAssignee?: boolean;
  now?: Date;
}

/** Reopen: status `open`, clears `closed_at`, `close_reason` and the lease. */
export function reopen(options: ReopenOptions = {}): Mutation {
  return (task) => {
    const next: Task = {
      ...task,
      status: 'open',
      updated_at: nextTimestamp(task.updated_at, options.now ?? new Date()),
    };
    delete next.closed_at;
    delete next.close_reason;
    if (options.clearAssignee) delete next.assignee;
    return withYgg(next, { lease: undefined }) ?? next;
  };
}

/** Sets keys of `metadata.ygg` (undefined removes a key). Declines when `metadata` is not an object. */
export function setYgg(patch: Partial<YggMeta>, now?: Date): Mutation {
  return (task) => {
    const next = withYgg(task, patch);
    return next && { ...next, updated_at: nextTimestamp(task.updated_at, now ?? new Date()) };
  };
}

export interface BlockOptions {
  /** Why, added as a comment (the dead-letter error). */
  reason: string;
  author?: string;
  /** Fencing, as for close. */
  token?: number;
  now?: Date;
}

/** Dead-letter: status `blocked` with the error as a comment. */
export function block(options: BlockOptions): Mutation {
  return (task, context) => {
    if (options.token !== undefined && !holds(task, options.token)) return undefined;
    const stamp = nextTimestamp(task.updated_at, options.now ?? new Date());
    const comment = makeComment(task, options.author ?? 'ygg', options.reason, stamp, context);
    const next: Task = {
      ...task,
      status: 'blocked',
      updated_at: stamp,
      comments: [...(task.comments ?? []), comment],
    };
    return withYgg(next, { lease: undefined }) ?? next;
  };
}
