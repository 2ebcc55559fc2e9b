import { ModelTimeoutError } from './errors.js';
import type { TimeoutLimits, TimeoutName } from './types.js';

/**
 * The four timeouts of one request, folded into one AbortSignal with the caller's.
 *
 *   connecting ──connected()──▶ awaiting first record ──activity()──▶ streaming ──dispose()──▶ done
 *   (connect, total)            (first-token, total)                  (idle, total)
 *
 * Whichever fires first aborts `signal` with a `ModelTimeoutError` naming it; the caller's abort
 * aborts it with the caller's reason.
 */
export class Deadlines implements Disposable {
  readonly #controller = new AbortController();
  readonly #timers = new Map<TimeoutName, NodeJS.Timeout>();
  readonly #limits: TimeoutLimits;
  readonly #where: string;
  readonly #caller: AbortSignal | undefined;
  readonly #onCallerAbort = () => this.#abort(this.#caller?.reason);
  #phase: 'connecting' | 'waiting' | 'streaming' | 'done' = 'connecting';
  #timedOut: ModelTimeoutError | undefined;

  constructor(limits: TimeoutLimits, where: string, caller?: AbortSignal) {
    this.#limits = limits;
    this.#where = where;
    this.#caller = caller;
    if (caller?.aborted) this.#abort(caller.reason);
    else caller?.addEventListener('abort', this.#onCallerAbort, { once: true });
    this.#arm('total', limits.totalMs);
    this.#arm('connect', limits.connectMs);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The timeout that fired, if one did. */
  get timedOut(): ModelTimeoutError | undefined {
    return this.#timedOut;
  }

  /** True when the caller's own signal aborted (as opposed to a timeout). */
  get cancelled(): boolean {
    return this.#caller?.aborted === true && this.#timedOut === undefined;
  }

  /** The request is on the wire: the connect limit ends, the first-token limit starts. */
  connected(): void {
    if (this.#phase !== 'connecting') return;
    this.#phase = 'waiting';
    this.#clear('connect');
    this.#arm('first-token', this.#limits.firstTokenMs);
  }

  /** A record arrived: the idle limit starts over. */
  activity(): void {
    if (this.#phase === 'done') return;
    if (this.#phase === 'connecting') this.connected();
    if (this.#phase === 'waiting') {
      this.#phase = 'streaming';
      this.#clear('first-token');
    }
    this.#arm('idle', this.#limits.idleMs);
  }

  /** Why the request ended early: the timeout that fired, else the caller's reason. */
  abortReason(): unknown {
    return this.#timedOut ?? this.#controller.signal.reason;
  }

  [Symbol.dispose](): void {
    this.#phase = 'done';
    for (const name of [...this.#timers.keys()]) this.#clear(name);
    this.#caller?.removeEventListener('abort', this.#onCallerAbort);
  }

  #arm(name: TimeoutName, ms: number | undefined): void {
    this.#clear(name);
    if (!ms || ms <= 0 || this.#controller.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#timedOut = new ModelTimeoutError(name, ms, this.#where);
      this.#abort(this.#timedOut);
    }, ms);
    timer.unref();
    this.#timers.set(name, timer);
  }

  #clear(name: TimeoutName): void {
    const timer = this.#timers.get(name);
    if (timer) clearTimeout(timer);
    this.#timers.delete(name);
  }

  #abort(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    for (const name of [...this.#timers.keys()]) this.#clear(name);
    this.#controller.abort(reason);
  }
}
