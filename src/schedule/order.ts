/** Pure ordering of ready tasks; the dispatcher calls these, routing and slots live elsewhere. */
import type { Task } from '../store/task.js';
import type { RuntimeEstimator } from './estimates.js';

export type Orderable = Pick<Task, 'id' | 'priority' | 'created_at'>;

/** bd's reading of priority (as priorityOf): a missing value is 0. */
const priority = (task: Orderable): number => (typeof task.priority === 'number' ? task.priority : 0);

const createdCache = new WeakMap<object, number>();
// Made on first use: building a collator loads ICU data (tens of ms at start-up), and most
// comparisons are settled by priority or time before ids are compared.
let ids: Intl.Collator | undefined;

/** Milliseconds of `created_at`; a missing or unreadable time sorts after every real one. */
function createdMs(task: Orderable): number {
  let ms = createdCache.get(task);
  if (ms === undefined) {
    const parsed = task.created_at ? Date.parse(task.created_at) : Number.NaN;
    ms = Number.isNaN(parsed) ? Number.POSITIVE_INFINITY : parsed;
    createdCache.set(task, ms);
  }
  return ms;
}

/** FIFO within priority: priority ascending, then oldest `created_at` first, then id (`bd-2` before `bd-10`). */
export function compareFifo(a: Orderable, b: Orderable): number {
  const byPriority = priority(a) - priority(b);
  if (byPriority !== 0) return byPriority;
  const ca = createdMs(a);
  const cb = createdMs(b);
  if (ca !== cb) return ca < cb ? -1 : 1;
  ids ??= new Intl.Collator('en', { numeric: true });
  return ids.compare(a.id, b.id);
}

/**
 * Throughput order: within each priority, the longest expected run first (LPT, which keeps the
 * makespan within 4/3 of optimal on identical hosts); ties in FIFO order. Priority still comes first.
 */
export function orderForMakespan<T extends Orderable>(
  tasks: readonly T[],
  estimator: Pick<RuntimeEstimator, 'expected'>,
  typeOf: (task: T) => string,
): T[] {
  const keyed = tasks.map((task) => ({ task, expected: estimator.expected(typeOf(task)) }));
  keyed.sort(
    (a, b) => priority(a.task) - priority(b.task) || b.expected - a.expected || compareFifo(a.task, b.task),
  );
  return keyed.map((k) => k.task);
}

/** The queue's order (`queue.order` in hosts.yaml) applied to `tasks`, as a new array. */
export function orderTasks<T extends Orderable>(
  tasks: readonly T[],
  order: 'fifo' | 'makespan',
  estimator: Pick<RuntimeEstimator, 'expected'>,
  typeOf: (task: T) => string,
): T[] {
  return order === 'makespan' ? orderForMakespan(tasks, estimator, typeOf) : [...tasks].sort(compareFifo);
}

export interface HostAvailability {
  host: string;
  /** Time until the host has a free slot (0 when it has one now). */
  freeInMs: number;
}

/** Candidate hosts by when they would finish a task of `type` (wait for a slot + expected run); stable. */
export function rankHostsByFinish<H extends HostAvailability>(
  type: string,
  hosts: readonly H[],
  estimator: Pick<RuntimeEstimator, 'expected'>,
): H[] {
  return hosts
    .map((h, index) => ({ h, index, finish: h.freeInMs + estimator.expected(type, h.host) }))
    .sort((a, b) => a.finish - b.finish || a.index - b.index)
    .map((x) => x.h);
}
