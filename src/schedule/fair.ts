/**
 * Queue strategies (`queue.strategy`): `priority` (bd's order: priority, oldest, id), `fifo`
 * (oldest first, priority ignored) and `fair` (within each priority, submitters take turns in
 * proportion to their weights). A task with the boost label goes first within its level, once.
 */
import { submitterOf, type Task, yggOf } from '../store/task.js';
import { compareFifo } from './order.js';

export type QueueStrategy = 'fifo' | 'priority' | 'fair';

export interface OrderSettings {
  strategy: QueueStrategy;
  /** Fair-share weight per submitter (default 1): weight w gets w turns per round. */
  weights: Readonly<Record<string, number>>;
  /** The label that sends a task first within its level, once (default `boost`). */
  boostLabel: string;
}

/** A boost not yet used: the task carries the label and has not started since it got it. */
export function hasBoost(task: Task, label: string): boolean {
  // Asked of every ready task on every look: read in place, no list made per task (a non-string
  // label never equals the boost label, as labelsOf would have dropped it).
  const labels: unknown = task.labels;
  return Array.isArray(labels) && labels.includes(label) && !yggOf(task).boosted;
}

const priorityOf = (task: Task): number => (typeof task.priority === 'number' ? task.priority : 0);
const epsilon = 1e-9;

/** Oldest first, then id, ignoring priority (`fifo`). */
function compareAge(a: Task, b: Task): number {
  return compareFifo({ ...a, priority: 0 }, { ...b, priority: 0 });
}

/** `tasks` sorted by `compare`, without sorting when they already are (the store's ready list). */
function sorted(tasks: readonly Task[], compare: (a: Task, b: Task) => number): Task[] {
  for (let i = 1; i < tasks.length; i++) {
    if (compare(tasks[i - 1]!, tasks[i]!) > 0) return [...tasks].sort(compare);
  }
  return [...tasks];
}

/** Consecutive runs of equal priority, in order. */
function levels(tasks: readonly Task[]): Task[][] {
  const out: Task[][] = [];
  for (const task of tasks) {
    const last = out.at(-1);
    if (last && priorityOf(last[0]!) === priorityOf(task)) last.push(task);
    else out.push([task]);
  }
  return out;
}

/** Boosted tasks first (in their order), the rest after: a stable partition. */
function boostFirst(tasks: readonly Task[], label: string): Task[] {
  const boosted = tasks.filter((t) => hasBoost(t, label));
  if (boosted.length === 0) return [...tasks];
  return [...boosted, ...tasks.filter((t) => !hasBoost(t, label))];
}

/** Boosted tasks first within each run of equal priority, keeping the given order otherwise. */
export function boostWithinLevels(tasks: readonly Task[], label: string): Task[] {
  return levels(tasks).flatMap((level) => boostFirst(level, label));
}

/**
 * Weighted round robin over submitters, kept across passes (stride scheduling). Each start adds
 * 1/weight to its submitter's pass; the next turn goes to the submitter whose next start would
 * end lowest (pass + 1/weight); ties go to the heavier weight, then to whoever went least
 * recently, then to the oldest task. A submitter that joins the queue (or comes back to it)
 * starts level with the lowest pass of those already waiting: it neither jumps ahead on credit
 * saved while away nor waits behind everyone's history.
 *
 * The loop asks `order()` on each pass and reports real starts with `started()`, so a turn
 * lost because a task could not be placed (its host full, its type at its cap) is not lost: that
 * submitter's pass did not move, and it stays first.
 */
export class FairOrder {
  readonly #pass = new Map<string, number>();
  readonly #lastTurn = new Map<string, number>();
  #turns = 0;
  #waiting = new Set<string>();

  /** Seeds who went least recently (say, from the store's `started_at` times, oldest first). */
  constructor(history: readonly string[] = []) {
    for (const submitter of history) this.#lastTurn.set(submitter, ++this.#turns);
  }

  /** The pass of each submitter seen so far (for tests and the status view). */
  passes(): ReadonlyMap<string, number> {
    return this.#pass;
  }

  /** Orders `tasks` by the strategy; ready tasks usually arrive in bd's order already. */
  order(tasks: readonly Task[], settings: OrderSettings): Task[] {
    if (settings.strategy === 'fifo') return boostFirst(sorted(tasks, compareAge), settings.boostLabel);
    const byLevel = levels(sorted(tasks, compareFifo));
    if (settings.strategy === 'priority')
      return byLevel.flatMap((level) => boostFirst(level, settings.boostLabel));
    this.#admitNewcomers(tasks);
    const pass = new Map(this.#pass);
    const lastTurn = new Map(this.#lastTurn);
    let turns = this.#turns;
    const out: Task[] = [];
    for (const level of byLevel) {
      const boosted = level.filter((t) => hasBoost(t, settings.boostLabel));
      const isBoosted = new Set(boosted);
      const queues = new Map<string, Task[]>();
      for (const task of level) {
        if (isBoosted.has(task)) continue;
        const who = submitterOf(task);
        const queue = queues.get(who);
        if (queue) queue.push(task);
        else queues.set(who, [task]);
      }
      // Boosted tasks go first, and use their submitters' turns.
      for (const task of boosted) {
        const who = submitterOf(task);
        pass.set(who, (pass.get(who) ?? 0) + 1 / weightOf(settings, who));
        lastTurn.set(who, ++turns);
        out.push(task);
      }
      const heads = new Map([...queues].map(([who]) => [who, 0]));
      while (heads.size > 0) {
        let best: string | undefined;
        for (const who of heads.keys()) {
          if (best === undefined || this.#before(who, best, pass, lastTurn, queues, heads, settings))
            best = who;
        }
        const queue = queues.get(best!)!;
        const at = heads.get(best!)!;
        out.push(queue[at]!);
        pass.set(best!, (pass.get(best!) ?? 0) + 1 / weightOf(settings, best!));
        lastTurn.set(best!, ++turns);
        if (at + 1 >= queue.length) heads.delete(best!);
        else if (heads.size === 1) {
          out.push(...queue.slice(at + 1));
          heads.delete(best!);
        } else heads.set(best!, at + 1);
      }
    }
    return out;
  }

  /** A task of `submitter` started: its turn is used. */
  started(submitter: string, weights: Readonly<Record<string, number>> = {}): void {
    const floor = this.#floor(this.#waiting);
    const pass = Math.max(this.#pass.get(submitter) ?? floor, floor);
    this.#pass.set(submitter, pass + 1 / (weights[submitter] ?? 1));
    this.#lastTurn.set(submitter, ++this.#turns);
  }

  /** Whether `a` goes before `b` now. */
  #before(
    a: string,
    b: string,
    pass: ReadonlyMap<string, number>,
    lastTurn: ReadonlyMap<string, number>,
    queues: ReadonlyMap<string, Task[]>,
    heads: ReadonlyMap<string, number>,
    settings: OrderSettings,
  ): boolean {
    const wa = weightOf(settings, a);
    const wb = weightOf(settings, b);
    const fa = (pass.get(a) ?? 0) + 1 / wa;
    const fb = (pass.get(b) ?? 0) + 1 / wb;
    if (Math.abs(fa - fb) > epsilon) return fa < fb;
    if (wa !== wb) return wa > wb;
    const la = lastTurn.get(a) ?? 0;
    const lb = lastTurn.get(b) ?? 0;
    if (la !== lb) return la < lb;
    return compareFifo(queues.get(a)![heads.get(a)!]!, queues.get(b)![heads.get(b)!]!) < 0;
  }

  /** Submitters new to the queue start level with the lowest pass among those already waiting. */
  #admitNewcomers(tasks: readonly Task[]): void {
    const waiting = new Set(tasks.map(submitterOf));
    const incumbents = [...waiting].filter((who) => this.#waiting.has(who));
    const floor = this.#floor(incumbents.length > 0 ? incumbents : waiting);
    for (const who of waiting) {
      if (!this.#waiting.has(who)) this.#pass.set(who, Math.max(this.#pass.get(who) ?? floor, floor));
    }
    this.#waiting = waiting;
  }

  #floor(among: Iterable<string>): number {
    let floor = Number.POSITIVE_INFINITY;
    for (const who of among) {
      const pass = this.#pass.get(who);
      if (pass !== undefined) floor = Math.min(floor, pass);
    }
    return Number.isFinite(floor) ? floor : 0;
  }
}

function weightOf(settings: OrderSettings, submitter: string): number {
  return settings.weights[submitter] ?? 1;
}
