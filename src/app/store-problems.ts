/**
 * Lines of the Beads file ygg keeps but cannot use (malformed JSON, no id, a duplicate id...),
 * told on stderr with file, line and a next step: once when a command opens the store, and in a
 * running loop whenever a new one appears.
 */
import type { StoreProblem, TaskStore } from '../store/store.js';

/** Shown at most this many at once; the rest are counted. */
const shownAtOnce = 10;

export function formatStoreProblem(problem: StoreProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  const message = problem.message.startsWith(`${where}: `) ? problem.message : `${where}: ${problem.message}`;
  return `${message}\n  ${problem.hint}`;
}

/**
 * Returns a function that writes the store's problems not written before (all of them on the
 * first call); call it after opening the store and after each change.
 */
export function storeProblemReporter(
  store: Pick<TaskStore, 'problems'>,
  write: (text: string) => void,
): () => void {
  const told = new Set<string>();
  return () => {
    const fresh = store
      .problems()
      .filter((p) => p.line > 0)
      .filter((p) => {
        const key = `${p.line}\u0000${p.kind}\u0000${p.message}`;
        if (told.has(key)) return false;
        told.add(key);
        return true;
      });
    for (const problem of fresh.slice(0, shownAtOnce)) write(`ygg: ${formatStoreProblem(problem)}\n`);
    if (fresh.length > shownAtOnce)
      write(`ygg: ... and ${fresh.length - shownAtOnce} more lines ygg keeps but cannot read\n`);
  };
}
