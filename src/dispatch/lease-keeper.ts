/**
 * Keeps one attempt's lease: renews it every third of the lease on the loop's clock (and on the
 * handler's heartbeat), and stops the attempt before the lease can lapse when renewals do not
 * land, so a loop taking the task over never runs it beside us.
 *
 *   keeping ──renewed──▶ keeping (deadline moves on)
 *      │ └──declined──▶ lost (onLost: someone else holds or changed the task)
 *      └──deadline (lease − margin) with no renewal landed──▶ expiring (onLost)
 */
import type { Clock } from './clock.js';

export type RenewResult = 'renewed' | 'declined';

export interface LeaseKeeperOptions {
  clock: Clock;
  leaseMs: number;
  /** When the lease was taken (the claim's `now`): it lapses at that plus `leaseMs`. */
  since: number;
  /** Write a renewal whose lease runs from `now`; throws when the store cannot be written. */
  renew(now: number): Promise<RenewResult>;
  /** The lease is lost or about to lapse: the attempt must stop. Called once. */
  onLost(why: 'declined' | 'expiring'): void;
  onError?(error: unknown): void;
}

/** How long before the lease lapses an attempt that could not renew is stopped. */
export function stopMarginMs(leaseMs: number): number {
  return Math.max(20, Math.floor(leaseMs / 6));
}

export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions;
  #validUntil: number;
  #interval: unknown;
  #deadline: unknown;
  #renewing = false;
  #done = false;

  constructor(options: LeaseKeeperOptions) {
    this.#options = options;
    this.#validUntil = options.since + options.leaseMs;
    const every = Math.max(10, Math.floor(options.leaseMs / 3));
    this.#interval = options.clock.setInterval(() => void this.renewNow(), every);
    this.#armDeadline();
  }

  /** Renew at once (a heartbeat); a renewal already under way is not doubled. */
  async renewNow(): Promise<void> {
    if (this.#done || this.#renewing) return;
    this.#renewing = true;
    const { clock, leaseMs } = this.#options;
    const at = clock.now();
    try {
      const result = await this.#options.renew(at);
      if (this.#done) return;
      if (result === 'declined') return this.#lose('declined');
      this.#validUntil = Math.max(this.#validUntil, at + leaseMs);
      this.#armDeadline();
    } catch (error) {
      this.#options.onError?.(error);
    } finally {
      this.#renewing = false;
    }
  }

  stop(): void {
    this.#done = true;
    this.#options.clock.clearInterval(this.#interval);
    this.#options.clock.clearTimeout(this.#deadline);
  }

  #armDeadline(): void {
    const { clock, leaseMs } = this.#options;
    clock.clearTimeout(this.#deadline);
    const in_ = this.#validUntil - stopMarginMs(leaseMs) - clock.now();
    this.#deadline = clock.setTimeout(() => this.#lose('expiring'), Math.max(0, in_));
  }

  #lose(why: 'declined' | 'expiring'): void {
    if (this.#done) return;
    this.stop();
    this.#options.onLost(why);
  }
}
