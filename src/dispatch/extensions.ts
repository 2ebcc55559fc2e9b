/**
 * The named interfaces through which later parts (the agent pipeline, queue policies) extend the
 * dispatcher, passed in at construction: admission, starts, ordering, and handler context.
 */
import type { YggConfig } from '../config/types.js';
import type { HandlerContext } from '../plugins/api.js';
import type { RuntimeEstimator } from '../schedule/estimates.js';
import type { Slot } from '../schedule/slots.js';
import type { TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';
import type { AttemptControl } from './attempt.js';

/**
 * A running attempt's slot, lent while it waits on something that does not need it (a tool
 * call): lent slots are not counted against the host, in this loop or any other on the store.
 */
export interface SlotLending {
  /** Lend the slot now; other work may start in it. */
  lend(): void;
  /** Take a slot of the same host back (waits for one); resolves with its GPUs. */
  reclaim(): Promise<readonly number[]>;
}

/** What a context extension learns of the attempt. */
export interface AttemptInfo {
  task: Task;
  slot: Slot;
  control: AttemptControl;
  lending: SlotLending;
}

/** What a policy sees of the dispatcher during a pass. */
export interface PassView {
  readonly config: YggConfig;
  readonly store: TaskStore;
  readonly estimator: RuntimeEstimator;
  readonly owner: string;
  now(): number;
  typeOf(task: Task): string;
  /** Look at the queue again at `at` (a rate limit that holds a task until then). */
  wakeAt(at: number): void;
}

/** Policies over the queue and extensions of handlers; every member is optional. */
export interface DispatchExtensions {
  /** Orders the ready tasks before routing (fair scheduling, makespan); default keeps store order. */
  order?: (tasks: readonly Task[], view: PassView) => readonly Task[];
  /** Admission checks beyond routing (rate limits, staleness); a string says why a task waits. */
  admit?: (task: Task, type: string, view: PassView) => string | undefined;
  /** Called as a task is taken for a slot, its claim just queued (fair turns and rate limits count starts). */
  launched?: (task: Task, type: string, view: PassView) => void;
  /** Adds extension members (model endpoint, tool queue, ...) to each handler context. */
  extendContext?: (ctx: HandlerContext, info: AttemptInfo) => void;
}
