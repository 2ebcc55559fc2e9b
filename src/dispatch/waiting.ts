/**
 * The ready tasks not running: why each waits (the one reason `list --ready`, `position`, the
 * monitor and the web view show), and since when each has been ready (for wait-time figures).
 */
import type { EventBus } from '../observe/events.js';
import { type Task, yggOf } from '../store/task.js';
import type { Holdup } from './admission.js';

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

  /** It could run but a slot or cap is full now: no reason shown, its wait goes on. */
  waitsForSlot(task: Task, now: number): void {
    this.#noteReady(task, now);
    this.holdups.delete(task.id);
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
