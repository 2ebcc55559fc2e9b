import type { TypeConfig } from '../config/types.js';

/** One running estimate: its value and how many samples (a configured seed counts as one) shaped it. */
export interface EstimateRecord {
  type: string;
  /** A host name, or `*` for the type on any host. */
  host: string;
  ms: number;
  samples: number;
}

export interface RuntimeEstimatorOptions {
  /** Weight of each new observation once enough have been seen (EWMA). Default: 0.3. */
  alpha?: number;
  /** Expected run time of a type nothing is known about. Default: 60 s. */
  fallbackMs?: number;
}

const anyHost = '*';

/**
 * Expected run time of each type on each host: seeded from the config's `estimate` (overall or
 * per host), then updated from observed run times. Early observations are averaged (each of the
 * first n weighs 1/n) so a wrong seed is forgotten fast; after that it is an exponentially
 * weighted moving average, so the estimate follows a host that gets slower or faster.
 */
export class RuntimeEstimator {
  readonly #alpha: number;
  readonly #fallbackMs: number;
  readonly #cells = new Map<string, EstimateRecord>();

  constructor(
    types: Record<string, Pick<TypeConfig, 'estimateMs' | 'estimateMsByHost'>> = {},
    options: RuntimeEstimatorOptions = {},
  ) {
    this.#alpha = options.alpha ?? 0.3;
    this.#fallbackMs = options.fallbackMs ?? 60_000;
    for (const [type, config] of Object.entries(types)) {
      if (config.estimateMs !== undefined) this.#seed(type, anyHost, config.estimateMs);
      for (const [host, ms] of Object.entries(config.estimateMsByHost ?? {})) this.#seed(type, host, ms);
    }
  }

  /** Records one finished run of `type` on `host` that took `runMs`. */
  observe(type: string, host: string, runMs: number): void {
    if (!Number.isFinite(runMs) || runMs < 0) return;
    this.#update(type, host, runMs);
    this.#update(type, anyHost, runMs);
  }

  /**
   * Expected run time in ms: of `type` on `host` when that is known; else of the type on any
   * host (observed or declared, or the mean of its per-host figures); else `fallbackMs`.
   */
  expected(type: string, host?: string): number {
    if (host !== undefined) {
      const cell = this.#cells.get(key(type, host));
      if (cell) return cell.ms;
    }
    const overall = this.#cells.get(key(type, anyHost));
    if (overall) return overall.ms;
    const perHost = [...this.#cells.values()].filter((c) => c.type === type);
    if (perHost.length > 0) return perHost.reduce((sum, c) => sum + c.ms, 0) / perHost.length;
    return this.#fallbackMs;
  }

  /** Whether anything (a seed or an observation) is known about `type` (on `host`, when given). */
  knows(type: string, host?: string): boolean {
    if (host !== undefined) return this.#cells.has(key(type, host));
    return [...this.#cells.values()].some((c) => c.type === type);
  }

  /** Every estimate, to persist across restarts. */
  snapshot(): EstimateRecord[] {
    return [...this.#cells.values()].map((c) => ({ ...c }));
  }

  /** Puts back estimates from `snapshot()`; they replace seeds for the same type and host. */
  restore(records: readonly EstimateRecord[]): void {
    for (const r of records) {
      if (Number.isFinite(r.ms) && r.ms >= 0) this.#cells.set(key(r.type, r.host), { ...r });
    }
  }

  #seed(type: string, host: string, ms: number): void {
    this.#cells.set(key(type, host), { type, host, ms, samples: 1 });
  }

  #update(type: string, host: string, runMs: number): void {
    const cell = this.#cells.get(key(type, host));
    if (!cell) {
      this.#cells.set(key(type, host), { type, host, ms: runMs, samples: 1 });
      return;
    }
    const weight = Math.max(this.#alpha, 1 / (cell.samples + 1));
    cell.ms += weight * (runMs - cell.ms);
    cell.samples += 1;
  }
}

const key = (type: string, host: string): string => `${type}\u0000${host}`;
