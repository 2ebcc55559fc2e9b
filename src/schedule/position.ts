/**
 * A task's place in the queue as the loop would order it now (`ygg add`, `ygg position`). Fair
 * turns are rebuilt from the store: whoever started least recently goes first.
 */
import type { QueueSettings, TypeConfig } from '../config/types.js';
import type { TaskStore } from '../store/store.js';
import { statusOf, submitterOf, type Task } from '../store/task.js';
import { plural } from '../text/plural.js';
import { hasQueueLimits, overLimit, queuedStatuses } from './backpressure.js';
import { RuntimeEstimator } from './estimates.js';
import { boostWithinLevels, FairOrder, hasBoost } from './fair.js';
import { orderForMakespan } from './order.js';

export interface QueuePlace {
  id: string;
  /**
   * `queued`: ready and in line for a slot; `held`: ready by bd's rules but not in line (no host
   * or handler can take it, a blocker ended dead or cancelled, assigned to someone else);
   * `not-ready`: open but waiting (dependencies, defer, retry time).
   */
  state: 'queued' | 'held' | 'not-ready' | 'running' | 'done' | 'missing';
  /** Why it waits, as the dispatcher decided (the same words as `list --ready`). */
  reason?: string;
  /** 1-based place among the ready tasks, when queued. */
  position?: number;
  /** Ready tasks waiting in all. */
  of: number;
  /** Set when the task is past a queue limit and waits for older tasks to end. */
  overLimit?: string;
  status?: string;
}

/**
 * Ready tasks in the order the queue's strategy would start them now. `all` is called only when
 * fair turns need every submitter's last start (reading every task of a large file is slow).
 */
export function queueOrder(
  all: () => readonly Task[],
  ready: readonly Task[],
  queue: QueueSettings,
  types: Record<string, TypeConfig>,
  typeOf: (task: Task) => string,
): readonly Task[] {
  if (queue.strategy === 'priority' && queue.order === 'makespan')
    return boostWithinLevels(orderForMakespan(ready, new RuntimeEstimator(types), typeOf), queue.boostLabel);
  if (queue.strategy === 'priority' && !ready.some((t) => hasBoost(t, queue.boostLabel))) return ready;
  const fair = new FairOrder(queue.strategy === 'fair' ? leastRecentlyStarted(all()) : []);
  return fair.order(ready, {
    strategy: queue.strategy,
    weights: queue.weights,
    boostLabel: queue.boostLabel,
  });
}

/** A task's place among the ready tasks of `store`, in the order the loop would start them. */
export function queuePlace(
  id: string,
  store: Pick<TaskStore, 'get' | 'list' | 'ready'>,
  queue: QueueSettings,
  types: Record<string, TypeConfig>,
  typeOf: (task: Task) => string,
): QueuePlace {
  const task = store.get(id);
  const ready = store.ready();
  const of = ready.length;
  if (!task) return { id, state: 'missing', of };
  const status = statusOf(task);
  const over = hasQueueLimits(queue) ? overLimit(store.list(queuedStatuses), queue).get(id) : undefined;
  const extra = { status, ...(over ? { overLimit: over } : {}) };
  if (status === 'in_progress') return { id, state: 'running', of, ...extra };
  if (status !== 'open') return { id, state: 'done', of, ...extra };
  const at = queueOrder(() => store.list(), ready, queue, types, typeOf).findIndex((t) => t.id === id);
  if (at < 0) return { id, state: 'not-ready', of, ...extra };
  return { id, state: 'queued', position: at + 1, of, ...extra };
}

/** Submitters by their latest `started_at`, least recent first. */
export function leastRecentlyStarted(tasks: Iterable<Task>): string[] {
  const latest = new Map<string, string>();
  for (const task of tasks) {
    if (!task.started_at) continue;
    const who = submitterOf(task);
    const seen = latest.get(who);
    if (!seen || task.started_at > seen) latest.set(who, task.started_at);
  }
  return [...latest].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).map(([who]) => who);
}

/** One line for people: `queued, position 3 of 12`, `running`, ... */
export function describePlace(place: QueuePlace): string {
  const over = place.overLimit ? ` (${place.overLimit})` : '';
  const why = place.reason ? `; ${place.reason}` : '';
  switch (place.state) {
    case 'queued':
      return `queued, position ${place.position} of ${place.of}${over}${why}`;
    case 'held':
      return `not in line to run: ${place.reason}${over}`;
    case 'not-ready':
      return place.reason
        ? `open but not ready: ${place.reason}${over}`
        : `open but not ready yet (dependencies, a defer or a retry time); ${plural(place.of, 'task is', 'tasks are')} ready${over}`;
    case 'running':
      return 'running';
    case 'done':
      return `not queued (status ${place.status})`;
    default:
      return 'no such task';
  }
}
