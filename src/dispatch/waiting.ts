/**
 * The ready tasks not running: why each waits (the one reason `list --ready`, `position`, the
 * monitor and the web view show), and since when each has been ready (for wait-time figures).
 */
import type { EventBus } from '../observe/events.js';
import type { TaskStore } from '../store/store.js';
import { dependenciesOf, statusOf, type Task, yggOf } from '../store/task.js';
import { taskShapeProblem } from '../store/task-shape.js';
import type { Holdup } from './admission.js';
import { heldByDependency } from './held.js';

/**
 * The holds every view lists as tasks that cannot run (the monitor's and the web view's
 * "unroutable"): no host, hosts down or drained, no handler, held by a blocker, assigned to
 * someone else, held by a rate or queue limit. Not a backoff, nor a wait for a slot.
 */
export const reportedKinds: ReadonlySet<Holdup['kind']> = new Set<Holdup['kind']>([
  'unroutable',
  'no-handler',
  'waiting',
  'held',
  'assigned',
  'admission',
]);

export class WaitingTasks {
  readonly holdups = new Map<string, Holdup>();
  readonly #readySince = new Map<string, number>();

  constructor(readonly bus: EventBus) {}

  readySince(id: string): number | undefined {
    return this.#readySince.get(id);
  }

  /** New tasks that arrived ready count their wait from now. */
  arrived(ids: readonly string[], ready: ReadonlySet<string>, now: number): void {
    for (const id of ids) if (ready.has(id) && !this.#readySince.has(id)) this.#readySince.set(id, now);
  }

  /** Record why a task waits; report it once (an event and a log line), not on every pass. */
  hold(task: Task, holdup: Holdup, report: boolean, now: number): void {
    if (holdup.kind !== 'retry' && !this.#readySince.has(task.id)) this.#readySince.set(task.id, now);
    const previous = this.holdups.get(task.id);
    this.holdups.set(task.id, holdup);
    if (!report || previous?.reason === holdup.reason) return;
    this.bus.emit('task:unroutable', { taskId: task.id, type: holdup.type, reason: holdup.reason });
  }

  /** It could run but a slot or cap is full now: the reason is kept (never reported), its wait goes on. */
  waitsForSlot(task: Task, type: string, reason: string, now: number): void {
    this.#noteReady(task, now);
    this.holdups.set(task.id, { kind: 'slot', type, reason });
  }

  /**
   * Not looked at in this pass (no slot was free anywhere): a task with no reason yet, or one
   * that waited on slots or hosts, now waits on this.
   */
  notReached(task: Task, type: string, reason: string, now: number): void {
    const kind = this.holdups.get(task.id)?.kind;
    if (kind !== undefined && kind !== 'slot' && kind !== 'waiting') return;
    this.#noteReady(task, now);
    this.holdups.set(task.id, { kind: 'slot', type, reason });
  }

  /** True when the task already waits on a slot for `reason` as `type` (`notReached` would change nothing). */
  marked(task: Task, reason: string, type: string): boolean {
    const holdup = this.holdups.get(task.id);
    return holdup?.kind === 'slot' && holdup.reason === reason && holdup.type === type;
  }

  /** It is no longer waiting (closed, cancelled, removed, dead): nothing kept for it. */
  forget(id: string): void {
    this.holdups.delete(id);
    this.#readySince.delete(id);
  }

  /** It starts now: returns since when it was ready. */
  started(task: Task, now: number): number {
    this.#noteReady(task, now);
    this.holdups.delete(task.id);
    const since = this.#readySince.get(task.id) ?? now;
    this.#readySince.delete(task.id);
    return since;
  }

  /** Ready since its backoff ended (the backoff is not waiting for a slot), or since now. */
  #noteReady(task: Task, now: number): void {
    if (this.#readySince.has(task.id)) return;
    const nextTry = Date.parse(yggOf(task).next_try_at ?? '');
    this.#readySince.set(task.id, nextTry <= now ? nextTry : now);
  }
}

const blockingLinks = new Set(['blocks', 'conditional-blocks', 'waits-for']);

/** Why a task waits as the store alone tells it: `held` for good by a blocker, `blocked` by one still open, `deferred`, `retry`. */
export interface StoreHoldup {
  kind: 'held' | 'blocked' | 'deferred' | 'retry';
  reason: string;
}

/**
 * Why an open task waits, from the store alone: a blocker that ended cancelled or dead (held
 * for good), one still open or running, a defer or a retry time. Undefined for a task that is
 * not waiting on any of these (ready, closed, dead-lettered, running).
 */
export function storeHoldup(task: Task, store: Pick<TaskStore, 'get'>, now: number): StoreHoldup | undefined {
  if (statusOf(task) !== 'open' || yggOf(task).dead) return undefined;
  const held = heldByDependency(task, store);
  if (held) return { kind: 'held', reason: held };
  const waitingFor = dependenciesOf(task)
    .filter((d) => blockingLinks.has(d.type))
    .map((d) => store.get(d.depends_on_id))
    .filter((t): t is Task => t !== undefined && !['closed', 'pinned'].includes(statusOf(t)));
  if (waitingFor.length > 0)
    return {
      kind: 'blocked',
      reason: `waits for ${waitingFor.map((t) => `${t.id} (${statusOf(t)})`).join(', ')} to close`,
    };
  const deferred = Date.parse(task.defer_until ?? '');
  if (deferred > now) return { kind: 'deferred', reason: `deferred until ${task.defer_until}` };
  const nextTry = yggOf(task).next_try_at;
  if (nextTry && Date.parse(nextTry) > now) return { kind: 'retry', reason: `retrying at ${nextTry}` };
  return undefined;
}

/** A task the queue still holds, and why it is not running. */
export interface LeftTask {
  id: string;
  title: string;
  reason: string;
}

/**
 * The open tasks still in the store, each with why it waits: the loop's own reason (the hold it
 * decided), else the store's (blockers, defer, retry time).
 */
export function leftTasks(
  store: Pick<TaskStore, 'get' | 'list'>,
  holdups: ReadonlyMap<string, Pick<Holdup, 'reason'>>,
  now: number,
): LeftTask[] {
  return store.list(['open']).map((t) => ({
    id: t.id,
    title: t.title,
    reason:
      holdups.get(t.id)?.reason ??
      shapeReason(t) ??
      storeHoldup(t, store, now)?.reason ??
      'ready; not started yet',
  }));
}

/** A task whose line breaks a rule of ours: the store never offers it; admission says this of it. */
function shapeReason(task: Task): string | undefined {
  const problem = taskShapeProblem(task);
  return problem ? `ygg cannot use this task: ${problem.message}` : undefined;
}
