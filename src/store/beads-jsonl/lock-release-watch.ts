import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Wakes a writer waiting for the store's lock as soon as its holder lets go (the lock folder is
 * removed), rather than at its next poll: another process's add or claim then waits for the
 * holder's write, not for a timer. The poll stays, for a file system without events.
 */
export class LockReleaseWatch {
  #watcher: FSWatcher | undefined;
  #wake: (() => void) | undefined;

  constructor(readonly lockPath: string) {}

  /** Resolves after `ms`, or earlier when the lock folder changes. */
  pause(ms: number): Promise<void> {
    this.#start();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#wake = undefined;
  }

  #start(): void {
    if (this.#watcher) return;
    const name = basename(this.lockPath);
    try {
      this.#watcher = watch(dirname(this.lockPath), { persistent: false }, (_event, file) => {
        if (file && file.toString() !== name) return;
        const wake = this.#wake;
        this.#wake = undefined;
        wake?.();
      });
      this.#watcher.on('error', () => this.stop());
    } catch {
      // no events here: the poll alone
    }
  }
}
