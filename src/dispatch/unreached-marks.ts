/**
 * When a pass finds no slot free (or its loop at its --concurrency), it gives the tasks it did
 * not reach the reason they wait, and decides once each one that no pass has decided (so one no
 * host can ever take says so). With several loops on one store, a loop at its cap runs a pass on
 * every other loop's commit, and walking the same window each time, deciding every task in it
 * once in every loop, was half of a pass's work: most of those tasks were run by another loop
 * before this one came to them.
 *
 * So the walk runs when it may change something: the reason changed, tasks arrived or changed
 * since the last walk (the loop says so), or `everyMs` passed (tasks that moved into the window
 * as others left it, a retry that came due, tasks the last walk's budget left undecided). A pass
 * that skips it, or a walk that left tasks undecided, asks for a wake when the next walk is due,
 * so the marks follow the last change even if nothing else happens: within `everyMs`, and a
 * large batch at the pass's budget of decisions per walk.
 */

/** How stale the marks of tasks that moved into the window may get. */
export const unreachedWalkEveryMs = 250;

export class UnreachedMarks {
  #reason: string | undefined;
  #at = Number.NEGATIVE_INFINITY;
  #arrived = true;
  #stale = false;

  constructor(readonly everyMs = unreachedWalkEveryMs) {}

  /** Tasks arrived, changed or reopened, or the configuration changed: walk at the next chance. */
  arrived(): void {
    this.#arrived = true;
  }

  /** True when a pass that reached no further than here should walk the rest now. */
  due(reason: string, now: number): boolean {
    return this.#arrived || reason !== this.#reason || now >= this.#at + this.everyMs || now < this.#at;
  }

  /** The walk ran at `now` with `reason`; `complete`: it decided every task it came to. */
  walked(reason: string, now: number, complete: boolean): void {
    this.#reason = reason;
    this.#at = now;
    this.#arrived = false;
    this.#stale = !complete;
  }

  /** A pass did not walk: the window may have changed since the last walk. */
  skipped(): void {
    this.#stale = true;
  }

  /** When the next walk is due, if one is owed (else undefined). */
  get owedAt(): number | undefined {
    return this.#stale ? this.#at + this.everyMs : undefined;
  }
}
