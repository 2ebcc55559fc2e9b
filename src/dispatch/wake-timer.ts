/** One timer for the loop's next look at the queue: the earliest of the times asked for wins. */
import type { Clock } from './clock.js';

export class WakeTimer {
  #timer: unknown;
  #at = Number.POSITIVE_INFINITY;

  constructor(
    readonly clock: Clock,
    readonly onWake: () => void,
  ) {}

  /** Wake at `at` (ms on the clock) unless an earlier wake is already set. */
  at(at: number): void {
    if (!Number.isFinite(at) || at >= this.#at) return;
    this.clock.clearTimeout(this.#timer);
    this.#at = at;
    this.#timer = this.clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#at = Number.POSITIVE_INFINITY;
        this.onWake();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  cancel(): void {
    this.clock.clearTimeout(this.#timer);
    this.#at = Number.POSITIVE_INFINITY;
  }
}
