/**
 * Whether the database can be reached now, as the store's listening connection finds it: lost
 * when that connection is cut or cannot be opened, back once it listens again. The loop pauses
 * claiming while it is lost; the monitor and the web view show since when.
 */
import type { StoreConnection } from '../store.js';

export class ConnectionState implements StoreConnection {
  #lostSince: number | undefined;
  readonly #listeners = new Set<() => void>();

  /** `told`: called on every change too (the store's `onConnection`, for the log). */
  constructor(readonly told?: (state: 'lost' | 'back') => void) {}

  get lostSince(): number | undefined {
    return this.#lostSince;
  }

  set(state: 'lost' | 'back', now = Date.now()): void {
    if ((state === 'lost') === (this.#lostSince !== undefined)) return;
    this.#lostSince = state === 'lost' ? now : undefined;
    this.told?.(state);
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // a listener's failure is its own
      }
    }
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
