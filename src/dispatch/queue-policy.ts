/**
 * The queue's policy as dispatch extensions: the order of ready tasks (`queue.strategy`, boosts),
 * and admission by rate limit and queue limits. A held task keeps its attempts: it is simply not
 * started this pass, and the loop looks again when its rate limit lets it. The boost label is
 * used up by the runner once the task's claim lands.
 */
import type { QueueSettings } from '../config/types.js';
import { hasQueueLimits, overLimit, queuedStatuses } from '../schedule/backpressure.js';
import { boostWithinLevels, FairOrder, hasBoost, type OrderSettings } from '../schedule/fair.js';
import { orderForMakespan } from '../schedule/order.js';
import { leastRecentlyStarted } from '../schedule/position.js';
import { RateLimiter } from '../schedule/rate-limit.js';
import type { TaskStore } from '../store/store.js';
import { submitterOf, type Task, yggOf } from '../store/task.js';
import type { DispatchExtensions, PassView } from './extensions.js';
import { followStoreStarts, startKey, startsShared } from './store-starts.js';

export type QueueHooks = Required<Pick<DispatchExtensions, 'order' | 'admit' | 'launched'>>;

/** One per loop: it keeps the fair turns and the recent starts of each submitter. */
export class QueuePolicy {
  readonly rateLimiter = new RateLimiter(undefined);
  #fair: FairOrder | undefined;
  #over = new Map<string, string>();
  /** With a rate limit: every loop's starts from the store, so the limit holds across loops. */
  #followingStarts = false;

  /** The fair turns, seeded from the store on first use (least recently started first). */
  fairFor(store: Pick<TaskStore, 'scan'>): FairOrder {
    // One task at a time, only those that ever started: the store may hold 100,000.
    this.#fair ??= new FairOrder(leastRecentlyStarted(store.scan({ mentioning: '"started_at"' })));
    return this.#fair;
  }

  /** The hooks to hand the loop (`new Loop({ ...options, ...policy.hooks() })`). */
  hooks(): QueueHooks {
    return {
      order: (tasks, view) => this.#order(tasks, view),
      admit: (task, _type, view) => this.#admit(task, view),
      launched: (task, _type, view) => this.#launched(task, view),
    };
  }

  #order(tasks: readonly Task[], view: PassView): readonly Task[] {
    const queue = view.config.queue;
    this.rateLimiter.setLimit(queue.rateLimit);
    if (queue.rateLimit && !this.#followingStarts && startsShared(view.store)) {
      this.#followingStarts = true;
      followStoreStarts(view.store, (submitter, at, key) => this.rateLimiter.record(submitter, at, key));
    }
    this.#over = hasQueueLimits(queue) ? overLimit(view.store.list(queuedStatuses), queue) : new Map();
    const settings = orderSettings(queue);
    if (queue.strategy === 'priority' && queue.order === 'makespan') {
      const planned = orderForMakespan(tasks, view.estimator, (t) => view.typeOf(t));
      return boostWithinLevels(planned, settings.boostLabel);
    }
    if (queue.strategy === 'priority' && !anyBoost(tasks, settings.boostLabel, view.store)) return tasks;
    return this.fairFor(view.store).order(tasks, settings);
  }

  #admit(task: Task, view: PassView): string | undefined {
    const over = this.#over.get(task.id);
    if (over) return over;
    const at = this.rateLimiter.nextStartAt(submitterOf(task), view.now());
    if (at === undefined) return undefined;
    view.wakeAt(at);
    return `waiting for its rate limit until ${new Date(at).toISOString()}`;
  }

  #launched(task: Task, view: PassView): void {
    const submitter = submitterOf(task);
    this.fairFor(view.store).started(submitter, view.config.queue.weights);
    if (!startsShared(view.store)) {
      this.rateLimiter.record(submitter, view.now());
      return;
    }
    // As the claim will record it (whole seconds count to their end), so this loop never admits
    // a start the store's check declines.
    const at = Math.floor(view.now() / 1000) * 1000 + 999;
    this.rateLimiter.record(submitter, at, startKey(task.id, (yggOf(task).attempt ?? 0) + 1));
  }
}

function orderSettings(queue: QueueSettings): OrderSettings {
  return { strategy: queue.strategy, weights: queue.weights, boostLabel: queue.boostLabel };
}

/** Whether a task to take has its boost: no look at each where the store says none carries the label. */
function anyBoost(
  tasks: readonly Task[],
  label: string,
  store: Pick<TaskStore, 'takeableWithLabel'>,
): boolean {
  if (store.takeableWithLabel?.(label) === 0) return false;
  return tasks.some((t) => hasBoost(t, label));
}
