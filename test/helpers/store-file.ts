import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Task } from '../../src/store/task.js';

/** The issues in a Beads file, read fresh (lines that do not parse are skipped here). */
export async function readTasks(path: string): Promise<Task[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const tasks: Task[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      tasks.push(JSON.parse(line) as Task);
    } catch {
      // a line another writer is in the middle of; the next read sees it whole
    }
  }
  return tasks;
}

/**
 * Resolves once the file's tasks satisfy `predicate`, re-checking on every change of the folder
 * (and every 250 ms as a safety net); rejects after `ms` so a test fails instead of hanging.
 */
export function waitForTasks(
  path: string,
  predicate: (tasks: Task[]) => boolean,
  ms = 30_000,
): Promise<Task[]> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = async () => {
      if (done) return;
      const tasks = await readTasks(path);
      if (!done && predicate(tasks)) finish(() => resolve(tasks));
    };
    const watcher = watch(dirname(path), () => void check());
    const poll = setInterval(() => void check(), 250);
    const timer = setTimeout(
      () => finish(() => reject(new Error(`store did not reach the expected state in ${ms} ms`))),
      ms,
    );
    const finish = (settle: () => void) => {
      done = true;
      watcher.close();
      clearInterval(poll);
      clearTimeout(timer);
      settle();
    };
    void check();
  });
}

/** A minimal open Beads issue as bd writes it; `extra` overrides or adds keys. */
export function beadsIssue(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    title: id,
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...extra,
  };
}
