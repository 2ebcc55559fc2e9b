/**
 * The queue's policy as loop hooks: the order of ready tasks (`queue.strategy`, boosts), and
 * admission by rate limit and queue limits. A held task keeps its attempts: it is simply not
 * started this pass, and the loop looks again when its rate limit lets it.
 */
import type { QueueSettings } from '../config/types.js';
import { hasQueueLimits, overLimit, queuedStatuses } from '../schedule/backpressure.js';
import { boostWithinLevels, FairOrder, hasBoost, type OrderSettings } from '../schedule/fair.js';
import { orderForMakespan } from '../schedule/order.js';
import { leastRecentlyStarted } from '../schedule/position.js';
import { RateLimiter } from '../schedule/rate-limit.js';
import { withYgg } from '../store/operations.js';
import { statusOf, submitterOf, type Task, yggOf } from '../store/task.js';
import type { Loop, LoopOptions } from './loop.js';

export type QueueHooks = Required<Pick<LoopOptions, 'order' | 'admit' | 'launched'>>;

/** One per loop: it keeps the fair turns and the recent starts of each submitter. */
export class QueuePolicy {
  readonly rateLimiter = new RateLimiter(undefined);
  #fair: FairOrder | undefined;
  #loop: Loop | undefined;
  #over = new Map<string, string>();

  /** The fair turns, seeded on the first pass from the store (least recently started first). */
  get fair(): FairOrder {
    this.#fair ??= new FairOrder(this.#loop ? leastRecentlyStarted(this.#loop.store.list()) : []);
    return this.#fair;
  }

  /** The hooks to hand the loop (`new Loop({ ...options, ...policy.hooks() })`). */
  hooks(): QueueHooks {
    return {
      order: (tasks, loop) => this.#order(tasks, loop),
      admit: (task) => this.#admit(task),
      launched: (task) => this.#launched(task),
    };
  }

  #order(tasks: readonly Task[], loop: Loop): readonly Task[] {
    this.#loop = loop;
    const queue = loop.config.queue;
    this.rateLimiter.setLimit(queue.rateLimit);
    this.#over = hasQueueLimits(queue) ? overLimit(loop.store.list(queuedStatuses), queue) : new Map();
    const settings = orderSettings(queue);
    if (queue.strategy === 'priority' && queue.order === 'makespan') {
      const planned = orderForMakespan(tasks, loop.estimator, (t) => loop.typeOf(t));
      return boostWithinLevels(planned, settings.boostLabel);
    }
    if (queue.strategy === 'priority' && !tasks.some((t) => hasBoost(t, settings.boostLabel))) return tasks;
    return this.fair.order(tasks, settings);
  }

  #admit(task: Task): string | undefined {
    const over = this.#over.get(task.id);
    if (over) return over;
    const loop = this.#loop;
    if (!loop) return undefined;
    const at = this.rateLimiter.nextStartAt(submitterOf(task), loop.clock.now());
    if (at === undefined) return undefined;
    loop.wakeAt(at);
    return `waiting for its rate limit until ${new Date(at).toISOString()}`;
  }

  #launched(task: Task): void {
    const loop = this.#loop;
    if (!loop) return;
    const queue = loop.config.queue;
    const submitter = submitterOf(task);
    const now = loop.clock.now();
    this.fair.started(submitter, queue.weights);
    this.rateLimiter.record(submitter, now);
    if (!hasBoost(task, queue.boostLabel)) return;
    // The boost is used once the task runs: recorded after its claim (queued just before this).
    const owner = loop.owner;
    void loop.store
      .update(task.id, (current) => {
        const lease = yggOf(current).lease;
        if (statusOf(current) !== 'in_progress' || lease?.owner !== owner || yggOf(current).boosted)
          return undefined;
        return withYgg(current, { boosted: new Date(now).toISOString() });
      })
      .catch(() => undefined);
  }
}

function orderSettings(queue: QueueSettings): OrderSettings {
  return { strategy: queue.strategy, weights: queue.weights, boostLabel: queue.boostLabel };
}
