/**
 * Two `ygg loop` processes on one store split the work without exceeding any host: a host's
 * slots and a type's `max_concurrent` hold across every loop on the store, judged from what the
 * loops logged about each attempt (host, start, the handler's run time).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AttemptRecord, yggOf } from '../../src/store/task.js';
import { repoRoot } from '../helpers/cli.js';
import { useLeakCheck } from '../helpers/leaks.js';
import { type LoopProcess, mostAtOnce, spawnLoop, succeededAttempts } from '../helpers/loop-process.js';
import { beadsIssue, readTasks, waitForTasks } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

interface Store {
  dir: string;
  path: string;
}

async function storeWith(name: string, hostsYaml: string | { copyFrom: string }): Promise<Store> {
  const dir = await testDir(name);
  await mkdir(join(dir, '.beads'));
  const path = join(dir, '.beads', 'issues.jsonl');
  await writeFile(path, '');
  if (typeof hostsYaml === 'string') await writeFile(join(dir, 'hosts.yaml'), hostsYaml);
  else await copyFile(hostsYaml.copyFrom, join(dir, 'hosts.yaml'));
  return { dir, path };
}

/** Puts all tasks into the store at once (a whole new file renamed in), so both loops see them together. */
async function addAll(store: Store, type: string, count: number, simulateMs: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `ygg-${type}-${i + 1}`);
  const lines = ids.map((id) =>
    JSON.stringify(
      beadsIssue(id, { labels: [type], metadata: { ygg: { handler: 'simulate', simulate_ms: simulateMs } } }),
    ),
  );
  const next = `${store.path}.new`;
  await writeFile(next, `${lines.join('\n')}\n`);
  await rename(next, store.path);
  return ids;
}

/** Starts two loops and waits until both run (logged `loop:state running`), so both race for the tasks. */
async function twoLoops(store: Store): Promise<LoopProcess[]> {
  const loops = [spawnLoop(store.dir), spawnLoop(store.dir)];
  await Promise.all(
    loops.map((l) => l.logged((line) => line.event === 'loop:state' && line.state === 'running')),
  );
  return loops;
}

/** Waits until every task is closed (bounded), stops both loops, and returns the store and the logs. */
async function runToEnd(store: Store, loops: LoopProcess[], ids: string[]) {
  const idSet = new Set(ids);
  const tasks = await waitForTasks(
    store.path,
    (all) => all.filter((t) => idSet.has(t.id) && t.status === 'closed').length === ids.length,
    90_000,
  ).catch(async (error: Error) => {
    const left = (await readTasks(store.path))
      .filter((t) => t.status !== 'closed')
      .map((t) => `${t.id}: ${t.status}`);
    throw new Error(`${error.message}; not closed: ${left.join(', ')}`);
  });
  const exits = await Promise.all(loops.map((l) => l.stop()));
  for (const [i, exit] of exits.entries())
    expect(exit, `loop ${i + 1}: ${loops[i]!.stderr()}`).toEqual({ code: 0, signal: null });
  const lines = loops.flatMap((l) => l.lines());
  return { tasks: tasks.filter((t) => idSet.has(t.id)), lines, attempts: succeededAttempts(lines) };
}

function succeededRecords(history: AttemptRecord[] | undefined): AttemptRecord[] {
  return (history ?? []).filter((h) => h.outcome === 'succeeded');
}

describe('two ygg loop processes on one store', () => {
  useLeakCheck();

  it('never run more on a host than its slots, and close every task once', async () => {
    // The shipped hosts.yaml: reasoning goes to surtr-reasoning, which has 2 slots.
    const store = await storeWith('two-loops-slots', { copyFrom: join(repoRoot, 'hosts.yaml') });
    const loops = await twoLoops(store);
    const ids = await addAll(store, 'reasoning', 12, 1000);
    const { tasks, attempts } = await runToEnd(store, loops, ids);

    expect(tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    for (const task of tasks) {
      expect(succeededRecords(yggOf(task).history), `${task.id}'s history`).toHaveLength(1);
      expect(
        attempts.filter((a) => a.taskId === task.id),
        `${task.id}'s logged successes`,
      ).toHaveLength(1);
    }
    const onSurtr = attempts.filter((a) => a.host === 'surtr-reasoning');
    expect(onSurtr).toHaveLength(12);
    // Both loops wrote claims and outcomes through the store's journal, read by each other's claims.
    expect(existsSync(join(store.dir, '.ygg', 'issues.jsonl.wal'))).toBe(true);
    expect(mostAtOnce(onSurtr), `attempts on surtr-reasoning: ${describeRuns(onSurtr)}`).toBeLessThanOrEqual(
      2,
    );
  });

  it('never run more of a capped type at once than its max_concurrent', async () => {
    const store = await storeWith(
      'two-loops-cap',
      `
hosts:
  surtr: { transport: local, slots: 2 }
  fenrir: { transport: local, slots: 2 }
types:
  capped: { hosts: [surtr, fenrir], max_concurrent: 1 }
defaults:
  attempts: 1
`,
    );
    const loops = await twoLoops(store);
    const ids = await addAll(store, 'capped', 10, 300);
    const { tasks, attempts } = await runToEnd(store, loops, ids);

    for (const task of tasks)
      expect(succeededRecords(yggOf(task).history), `${task.id}'s history`).toHaveLength(1);
    expect(attempts).toHaveLength(10);
    expect(mostAtOnce(attempts), `capped attempts: ${describeRuns(attempts)}`).toBe(1);
  });
  it('one killed with kill -9 has its running task taken over by the other at once, not after the lease', async () => {
    const store = await storeWith(
      'two-loops-kill',
      `
hosts:
  surtr: { transport: local, slots: 1 }
queue:
  lease: 120s
`,
    );
    const first = spawnLoop(store.dir);
    // Long enough to outlast the second loop's start on a loaded machine: it must still be running.
    const [id] = await addAll(store, 'general', 1, 120_000);
    await first.logged((line) => line.event === 'task:started' && line.task_id === id);
    // The second loop starts with nothing it may run: the only slot is under the first's live lease.
    const second = spawnLoop(store.dir);
    try {
      await second.logged((line) => line.event === 'loop:state' && line.state === 'running');
      first.child.kill('SIGKILL');
      await first.exited;
      const killedAt = Date.now();
      // Bounded well inside the 120 s lease: only the dead process, seen from this machine, lets it go.
      await second.logged((line) => line.event === 'task:started' && line.task_id === id, 20_000);
      const tookMs = Date.now() - killedAt;
      const [task] = await waitForTasks(
        store.path,
        (all) => all.some((t) => t.id === id && yggOf(t).attempt === 2),
        30_000,
      );
      const history = yggOf(task!).history ?? [];
      expect(history.map((h) => h.outcome)).toEqual(['lost', undefined]);
      expect(task?.status).toBe('in_progress');
      expect(tookMs, 'from the kill to the start in the other loop').toBeLessThan(20_000);
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  });
});

function describeRuns(attempts: ReturnType<typeof succeededAttempts>): string {
  const t0 = Math.min(...attempts.map((a) => a.start));
  return attempts
    .sort((a, b) => a.start - b.start)
    .map((a) => `${a.taskId}@${a.host} pid ${a.pid} ${a.start - t0}..${Math.round(a.end - t0)} ms`)
    .join('; ');
}
