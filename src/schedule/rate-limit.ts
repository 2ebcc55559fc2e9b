/**
 * Per-submitter start limits (`queue.rate_limit`): at most N starts in any sliding window, or a
 * minimum gap between two starts. Pure: the caller passes the time and records the starts.
 */
export type RateLimit = { starts: number; windowMs: number } | { minGapMs: number };

export class RateLimiter {
  readonly #starts = new Map<string, number[]>();
  /** Starts already counted, by key (a task's attempt): one told twice counts once. */
  readonly #counted = new Set<string>();
  #limit: RateLimit | undefined;

  constructor(limit: RateLimit | undefined) {
    this.#limit = limit;
  }

  /** A new limit (hosts.yaml reloaded); the starts seen so far still count. */
  setLimit(limit: RateLimit | undefined): void {
    this.#limit = limit;
  }

  /** When `submitter` may start a task again: undefined when it may now. */
  nextStartAt(submitter: string, now: number): number | undefined {
    const limit = this.#limit;
    const starts = this.#starts.get(submitter);
    if (!limit || !starts || starts.length === 0) return undefined;
    if ('minGapMs' in limit) {
      const at = starts.at(-1)! + limit.minGapMs;
      return at > now ? at : undefined;
    }
    const recent = starts.filter((t) => t > now - limit.windowMs);
    if (recent.length < limit.starts) return undefined;
    // The oldest start that keeps the count at the limit leaves the window then.
    return recent[recent.length - limit.starts]! + limit.windowMs;
  }

  /** `submitter` started a task at `at`; `key` names the start, so that a second telling of it is ignored. */
  record(submitter: string, at: number, key?: string): void {
    if (key !== undefined) {
      if (this.#counted.has(key)) return;
      if (this.#counted.size >= 100_000) this.#counted.clear();
      this.#counted.add(key);
    }
    const starts = this.#starts.get(submitter) ?? [];
    starts.push(at);
    starts.sort((a, b) => a - b);
    this.#starts.set(submitter, starts.slice(-this.#keep()));
  }

  /** Starts worth remembering per submitter: enough to judge the current limit. */
  #keep(): number {
    const limit = this.#limit;
    if (!limit) return 1;
    return 'minGapMs' in limit ? 1 : Math.max(1, limit.starts);
  }
}
