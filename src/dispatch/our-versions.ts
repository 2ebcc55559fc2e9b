/**
 * Our last written version of each task we claimed or settled recently. A writer that does not
 * take the store's lock (bd's auto-flush) can rename an older copy of the file over ours; a task
 * that then shows an older state than ours is put back (`reassert`), so a claim, renewal or
 * outcome of ours is never silently undone and an outcome is written exactly once.
 */
import type { Task } from '../store/task.js';

/** Versions of settled tasks are kept this long: a foreign writer's copy is older than that. */
const keptMs = 10 * 60_000;
const keptMax = 20_000;

export class OurVersions {
  readonly #versions = new Map<string, { task: Task; at: number }>();

  remember(task: Task, now: number): void {
    this.#versions.delete(task.id);
    this.#versions.set(task.id, { task, at: now });
    this.#prune(now);
  }

  get(id: string): Task | undefined {
    return this.#versions.get(id)?.task;
  }

  #prune(now: number): void {
    for (const [id, entry] of this.#versions) {
      if (this.#versions.size <= keptMax && now - entry.at < keptMs) break;
      this.#versions.delete(id);
    }
  }
}
