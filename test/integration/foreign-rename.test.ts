/**
 * A writer that ignores ygg's lock, as bd ≤ 0.49's auto-flush does: every 0.1–0.3 s it reads the
 * store, changes an unrelated issue and renames its copy over the file, undoing whatever ygg wrote
 * meanwhile (a claim, a lease renewal, a close). One real `ygg loop` beside it must still close
 * every task exactly once, leave none in progress, and keep running.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Task } from '../../src/store/task.js';
import { yggOf } from '../../src/store/task.js';
import { useLeakCheck } from '../helpers/leaks.js';
import { spawnLoop } from '../helpers/loop-process.js';
import { beadsIssue, readTasks, waitForTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

const taskCount = 300;
// Fast no-op tasks of 10–50 ms: long enough that a rename lands while some run (at 0–5 ms it
// rarely does), short enough that 300 take seconds.
const dummyId = 'ygg-dummy';

// A lease well above the store lock's stale time, and a short safety-net poll.
const hostsYaml = `
hosts:
  surtr: { transport: local, slots: 4 }
queue:
  lease: 20s
  poll_interval: 1s
  shutdown_grace: 5s
defaults:
  attempts: 3
`;

interface ForeignWriter {
  /** Renames done so far. */
  renames(): number;
  /** Stops after the rename in flight, if any. */
  stop(): Promise<void>;
}

/** The lock-less writer: read, change the dummy issue's notes, write a copy, rename it over the store. */
function startForeignWriter(path: string): ForeignWriter {
  let stopped = false;
  let count = 0;
  const copy = `${path}.foreign-${process.pid}.tmp`;
  const run = (async () => {
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      if (stopped) break;
      const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim());
      const changed = lines.map((line) => {
        const issue = JSON.parse(line) as Task;
        if (issue.id !== dummyId) return line;
        return JSON.stringify({ ...issue, notes: `flushed ${count + 1} times` });
      });
      // bd exports what it read a moment ago: whatever ygg writes meanwhile is undone.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
      await writeFile(copy, `${changed.join('\n')}\n`);
      await rename(copy, path);
      count += 1;
    }
  })();
  return {
    renames: () => count,
    async stop() {
      stopped = true;
      await run;
    },
  };
}

function describeLeft(tasks: Task[]): string {
  return tasks
    .filter((t) => t.id !== dummyId && t.status !== 'closed')
    .map((t) => {
      const lease = yggOf(t).lease;
      return `${t.id}: ${t.status}${lease ? ` lease ${lease.owner} token ${lease.token} expires ${lease.expires}` : ''}`;
    })
    .join('\n');
}

describe('a lock-less writer renaming its copy over the store while a loop runs', () => {
  useLeakCheck();

  it('leaves every task closed once, none in progress, the loop still running', {
    timeout: 180_000,
  }, async () => {
    const dir = await testDir('foreign-rename');
    await mkdir(join(dir, '.beads'));
    await writeFile(join(dir, 'hosts.yaml'), hostsYaml);
    const path = join(dir, '.beads', 'issues.jsonl');
    const ids = Array.from({ length: taskCount }, (_, i) => `ygg-fast-${i + 1}`);
    const lines = [
      beadsIssue(dummyId, { status: 'blocked', notes: 'not flushed yet' }),
      ...ids.map((id, i) =>
        beadsIssue(id, { metadata: { ygg: { handler: 'simulate', simulate_ms: 10 + (i % 5) * 10 } } }),
      ),
    ];
    await writeFile(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);

    const loop = spawnLoop(dir);
    await loop.logged((line) => line.event === 'loop:state' && line.state === 'running');
    const writer = startForeignWriter(path);
    const allClosed = (tasks: Task[]) =>
      ids.every((id) => tasks.find((t) => t.id === id)?.status === 'closed');
    const bounded = (what: string) => async (error: Error) => {
      await writer.stop();
      throw new Error(`${error.message} (${what}); not closed:\n${describeLeft(await readTasks(path))}`);
    };
    try {
      await waitForTasks(path, allClosed, 90_000).catch(bounded('with the writer running'));
    } finally {
      await writer.stop();
    }
    // The writer's last rename may have undone a close: the loop must put it back on its own.
    const tasks = await waitForTasks(path, allClosed, 30_000).catch(bounded('after the writer stopped'));
    expect(writer.renames(), 'renames by the foreign writer').toBeGreaterThan(10);

    expect(loop.running(), `the loop exited early: ${loop.stderr()}`).toBe(true);
    const pid = loop.child.pid;
    expect(await loop.stop(), loop.stderr()).toEqual({ code: 0, signal: null });
    const logged = loop.lines();
    expect(
      logged.every((l) => l.pid === pid),
      'every log line from the one loop process',
    ).toBe(true);
    expect(logged.filter((l) => l.event === 'loop:state' && l.state === 'running')).toHaveLength(1);

    expect(tasks.filter((t) => t.status === 'in_progress').map((t) => t.id)).toEqual([]);
    const succeededLogged = new Map<string, number>();
    for (const l of logged)
      if (l.event === 'task:succeeded')
        succeededLogged.set(String(l.task_id), (succeededLogged.get(String(l.task_id)) ?? 0) + 1);
    for (const id of ids) {
      const task = tasks.find((t) => t.id === id)!;
      const succeeded = (yggOf(task).history ?? []).filter((h) => h.outcome === 'succeeded');
      expect(succeeded, `${id}'s history`).toHaveLength(1);
      expect(succeededLogged.get(id) ?? 0, `${id}'s task:succeeded lines`).toBe(1);
    }
  });
});
