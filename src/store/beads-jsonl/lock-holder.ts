import type { StoreLock } from './store-lock.js';

/** A long-running writer keeps the lock this long after a commit, for the next one. */
const lingerMs = 2;
/** ... but never longer than this in all, so that another process waits at most about this long. */
const holdMs = 100;

/**
 * The store's lock around commits. Taking and giving back the lock costs a folder, an owner file
 * and their removal (1 to 2 ms of file-system calls here, more than the journal's append and
 * fdatasync); a long-running writer (`linger`) keeps it a few milliseconds after a commit, so a
 * loop's next commit (claims right after outcomes) reuses it. Bounded: released once idle for
 * `lingerMs`, held at most `holdMs` in all, at once when lost, and on `release()`.
 */
export class LockHolder {
  #held: { release: () => Promise<void>; since: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(readonly lock: StoreLock) {}

  async acquire(): Promise<void> {
    this.#busy = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const held = this.#held;
    if (held && (this.lock.compromised || Date.now() - held.since > holdMs)) await this.#drop();
    if (!this.#held) this.#held = { release: await this.lock.acquire(), since: Date.now() };
  }

  /** After a commit: given back now, or kept a moment when `linger` (a long-running writer). */
  async done(linger: boolean): Promise<void> {
    this.#busy = false;
    if (!linger || !this.#held) return this.#drop();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#busy) void this.#drop();
    }, lingerMs);
    this.#timer.unref();
  }

  /** Gives the lock back now (the store closes). */
  async release(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#busy) await this.#drop();
  }

  async #drop(): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    await held?.release();
  }
}
