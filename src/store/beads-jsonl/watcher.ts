import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `onSignal` when the file may have changed: on a folder watch event naming it (a rename
 * over it shows up on the folder, not the old inode), and on a slow poll as a safety net.
 */
export class FileWatcher {
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pending: NodeJS.Immediate | undefined;

  constructor(
    readonly path: string,
    readonly pollIntervalMs: number,
    readonly onSignal: () => void,
  ) {}

  start(): void {
    if (this.#timer) return;
    const name = basename(this.path);
    try {
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (!filename || filename.toString() === name) this.#kick();
      });
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      // no watch support here: the poll still notices changes
    }
    this.#timer = setInterval(() => this.onSignal(), this.pollIntervalMs);
    this.#timer.unref();
  }

  /**
   * The events of one write arrive together (a rename shows as two): they are taken as one
   * signal on the next turn of the event loop, with no timer in the way of a new task's pickup.
   */
  #kick(): void {
    if (this.#pending) return;
    this.#pending = setImmediate(() => {
      this.#pending = undefined;
      this.onSignal();
    });
    this.#pending.unref();
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#pending) clearImmediate(this.#pending);
    this.#timer = undefined;
    this.#pending = undefined;
  }
}
