/**
 * Failover between `ygg loop` processes on one PostgreSQL store. A dispatcher killed with -9 has
 * its running tasks taken back through its released session lock, well before its lease
 * lapses; killed round after round, nothing is lost and nothing runs twice at once; a dispatcher
 * that stops answering (SIGSTOP: its session and lock stay) keeps its tasks until its lease
 * lapses. Each loop runs as if on a machine of its own. Judged from the tasks' histories and from
 * a handler that notes, to the millisecond, when each run starts and ends.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerLockSpace } from '../../src/store/postgres/owner-locks.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { parseMicros } from '../../src/store/timestamps.js';
import { type LoopProcess, spawnLoop } from '../helpers/loop-process.js';
import { otherMachine } from '../helpers/machine.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

/** A handler that notes each run's start and end (also when aborted) in the task's log file. */
const recorder = `import { appendFileSync } from 'node:fs';
export const plugin = {
  name: 'record',
  types: [],
  async run(task, ctx) {
    const { ms, log } = task.metadata.record;
    const note = (ev) =>
      appendFileSync(log, JSON.stringify({ id: task.id, pid: process.pid, ev, at: Date.now() }) + '\\n');
    note('start');
    try {
      await new Promise((resolve, reject) => {
        if (ctx.signal.aborted) return reject(ctx.signal.reason);
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener('abort', () => { clearTimeout(timer); reject(ctx.signal.reason); }, { once: true });
      });
    } finally {
      note('end');
    }
    return 'ok';
  },
};
`;

interface Queue {
  dir: string;
  url: string;
  store: PostgresStore;
  log: string;
}

async function queueWith(name: string, lease: string): Promise<Queue> {
  const dir = await testDir(name);
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'plugins', 'record.mjs'), recorder);
  const log = join(dir, 'runs.jsonl');
  await writeFile(log, '');
  await writeHosts(dir, 'hosts.yaml', 4, lease);
  const url = await server.newDatabase();
  const store = await PostgresStore.open({ url, runtimeDir: join(dir, 'submitter'), pollIntervalMs: 1000 });
  return { dir, url, store, log };
}

async function writeHosts(
  dir: string,
  file: string,
  slots: number,
  lease: string,
  hosts: readonly string[] = ['surtr', 'fenrir'],
): Promise<string> {
  const path = join(dir, file);
  await writeFile(
    path,
    `hosts:
${hosts.map((host) => `  ${host}: { transport: local, slots: ${slots} }`).join('\n')}
types:
  work: { hosts: [${hosts.join(', ')}] }
plugins: {dirs: [./plugins]}
queue:
  lease: ${lease}
  shutdown_grace: 1s
`,
  );
  return path;
}

/** A loop as if on a machine of its own (`name`): only its session lock or its lease tells whether it lives. */
async function startLoop(queue: Queue, name: string, config = 'hosts.yaml'): Promise<LoopProcess> {
  const loop = spawnLoop(queue.dir, ['--store', queue.url, '--config', join(queue.dir, config)], {
    cwd: join(queue.dir, name),
    env: otherMachine(`machine-${name}`),
  });
  await loop.logged((line) => line.event === 'loop:state' && line.state === 'running');
  return loop;
}

async function addWork(queue: Queue, count: number, ms: number): Promise<string[]> {
  const added = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      queue.store.add({
        title: `work ${i + 1}`,
        labels: ['work'],
        metadata: { ygg: { handler: 'record' }, record: { ms, log: queue.log } },
      }),
    ),
  );
  return added.map((t) => t.id);
}

interface Run {
  id: string;
  pid: number;
  start: number;
  end: number | undefined;
}

/** The runs the handler noted, a start matched with the next end of the same task in the same process. */
function runsOf(queue: Queue): Run[] {
  const runs: Run[] = [];
  const open = new Map<string, Run>();
  for (const text of readFileSync(queue.log, 'utf8').split('\n')) {
    if (!text) continue;
    const note = JSON.parse(text) as { id: string; pid: number; ev: string; at: number };
    const key = `${note.id} ${note.pid}`;
    if (note.ev === 'start') {
      const run = { id: note.id, pid: note.pid, start: note.at, end: undefined };
      runs.push(run);
      open.set(key, run);
    } else {
      const run = open.get(key);
      if (run) run.end = note.at;
      open.delete(key);
    }
  }
  return runs;
}

/**
 * Runs of one task that overlap in time. A run with no end was cut short when its process was
 * killed or stopped (`cut`, by pid): it ended then at the latest.
 */
function overlapping(runs: Run[], cut: ReadonlyMap<number, number>): string[] {
  const problems: string[] = [];
  const byTask = new Map<string, Run[]>();
  for (const run of runs) byTask.set(run.id, [...(byTask.get(run.id) ?? []), run]);
  for (const [id, list] of byTask) {
    const sorted = [...list].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i += 1) {
      const before = sorted[i - 1] as Run;
      const end = before.end ?? cut.get(before.pid) ?? Number.POSITIVE_INFINITY;
      const next = sorted[i] as Run;
      if (next.start < end)
        problems.push(
          `${id}: run in ${next.pid} at ${next.start} began before ${before.pid}'s ended (${end})`,
        );
    }
  }
  return problems;
}

/** What a task's history says is wrong: not one success, or attempts that overlap. */
function historyProblems(task: Task): string[] {
  const history = yggOf(task).history ?? [];
  const problems: string[] = [];
  const successes = history.filter((h) => h.outcome === 'succeeded').length;
  if (task.status !== 'closed' || successes !== 1)
    problems.push(`${task.id}: ${task.status}, ${successes} successes`);
  for (let i = 1; i < history.length; i += 1) {
    const end = parseMicros(history[i - 1]?.end);
    const start = parseMicros(history[i]?.start) ?? 0;
    if (end === undefined || start < end)
      problems.push(`${task.id}: attempt ${i + 1} began before attempt ${i} ended`);
  }
  return problems;
}

/**
 * Resolves once `loops` loops hold their owner locks and each has since read the held locks: every
 * loop has seen every other's lock (only a lock seen held counts when it goes missing). With
 * `settled`, also once each loop's session has been up past the 5 s a loop waits after it
 * connects before it trusts a missing lock.
 */
async function loopsSeeEachOther(url: string, loops: number, settled = false): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const locks = `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = ${ownerLockSpace}
      AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    const since = await waitUntil(
      async () => {
        const r = await client.query<{ n: number; t: Date }>(
          `SELECT count(*)::int AS n, clock_timestamp() AS t FROM (${locks}) l`,
        );
        return (r.rows[0]?.n ?? 0) >= loops ? r.rows[0]?.t : undefined;
      },
      // Generous: on a loaded machine a loop's start (config, clock, hosts sync) can take a while.
      { what: `${loops} owner locks`, timeoutMs: 60_000 },
    );
    await waitUntil(
      async () => {
        const r = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid IN (${locks}) AND state = 'idle'
           AND query LIKE '%FROM pg_locks%' AND query_start > $1`,
          [since],
        );
        return (r.rows[0]?.n ?? 0) >= loops || undefined;
      },
      { what: 'each loop to read the locks', timeoutMs: 60_000 },
    );
    if (!settled) return;
    await waitUntil(
      async () => {
        const r = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid IN (${locks})
             AND backend_start < clock_timestamp() - interval '5500 milliseconds'`,
        );
        return (r.rows[0]?.n ?? 0) >= loops || undefined;
      },
      { what: "each loop's session to settle", intervalMs: 100 },
    );
  } finally {
    await client.end();
  }
}

/** Resolves once every id is closed (the submitter's mirror follows NOTIFY). */
async function allClosed(queue: Queue, ids: string[], ms = 120_000): Promise<Task[]> {
  const stop = queue.store.watch(() => undefined);
  try {
    await waitUntil(() => ids.every((id) => queue.store.statusOf(id) === 'closed') || undefined, {
      timeoutMs: ms,
      intervalMs: 100,
      what: 'every task closed',
    });
  } finally {
    stop();
  }
  return ids.map((id) => queue.store.get(id) as Task);
}

async function kill(loop: LoopProcess, cut: Map<number, number>): Promise<number> {
  const at = Date.now();
  loop.child.kill('SIGKILL');
  await loop.exited;
  cut.set(loop.child.pid as number, Date.now());
  return at;
}

describe('failover between ygg loop processes on a PostgreSQL store', () => {
  it('kill -9 of a dispatcher: its running tasks run elsewhere long before its 20 s lease lapses', async () => {
    const queue = await queueWith('pg-failover-kill', '20s');
    const victim = await startLoop(queue, 'victim');
    const ids = await addWork(queue, 4, 60_000);
    await waitUntil(() => runsOf(queue).length === 4 || undefined, { what: 'the victim to run all four' });
    // The survivor starts with nothing to do: only the victim's lock can wake it before the lease.
    const survivor = await startLoop(queue, 'survivor');
    const survivorPid = survivor.child.pid as number;
    await loopsSeeEachOther(queue.url, 2, true);
    const cut = new Map<number, number>();
    const killedAt = await kill(victim, cut);
    const takenBack = await waitUntil(
      () => {
        const restarted = runsOf(queue).filter((run) => run.pid === survivorPid);
        return restarted.length === 4 ? restarted : undefined;
      },
      { timeoutMs: 40_000, what: "the survivor to run the victim's four tasks" },
    );
    const after = Math.max(...takenBack.map((run) => run.start)) - killedAt;
    // 0.4 s of a missing lock and a pass: under a second, where the lease alone would
    // take 13 to 20 (it was renewed every third of it).
    expect(after, 'ms from the kill until all four ran elsewhere').toBeLessThan(6000);
    expect(overlapping(runsOf(queue), cut)).toEqual([]);
    await queue.store.refresh();
    for (const id of ids) {
      const history = yggOf(queue.store.get(id) as Task).history ?? [];
      expect(history.map((h) => h.outcome)).toEqual(['lost', undefined]);
    }
    await survivor.stop();
    await queue.store.close();
  }, 180_000);

  it('kill -9 of one of two dispatchers, 20 rounds: every task closed once, no two runs of a task at once', async () => {
    const queue = await queueWith('pg-failover-rounds', '5s');
    // Each victim also has a host of its own (skadi), which the survivor does not know: however
    // fast the survivor claims, a victim finds slots only it can use. The survivor takes at most
    // 3 a host on the two they share (slots hold across loops).
    await writeHosts(queue.dir, 'victim.yaml', 4, '5s', ['surtr', 'fenrir', 'skadi']);
    await writeHosts(queue.dir, 'survivor.yaml', 3, '5s');
    const survivor = await startLoop(queue, 'survivor', 'survivor.yaml');
    const cut = new Map<number, number>();
    const ids: string[] = [];
    let killedRunning = 0;
    for (let round = 1; round <= 20; round += 1) {
      const victim = await startLoop(queue, `victim-${round}`, 'victim.yaml');
      const pid = victim.child.pid as number;
      await loopsSeeEachOther(queue.url, 2);
      // A young victim on a loaded machine may be slower than the survivor at emptying the
      // queue: more work comes until it has started a task (the kill needs it mid-run).
      let started = false;
      for (let batch = 0; batch < 8 && !started; batch += 1) {
        ids.push(...(await addWork(queue, 10, 1000)));
        started = await waitUntil(() => runsOf(queue).some((run) => run.pid === pid) || undefined, {
          what: `victim ${round} to start a task`,
          timeoutMs: 5000,
        }).then(
          () => true,
          () => false,
        );
      }
      expect(started, `victim ${round} started a task`).toBe(true);
      await kill(victim, cut);
      killedRunning += runsOf(queue).filter((run) => run.pid === pid && run.end === undefined).length;
    }
    const tasks = await allClosed(queue, ids);
    expect(await survivor.stop(), survivor.stderr()).toEqual({ code: 0, signal: null });
    expect(tasks.flatMap(historyProblems)).toEqual([]);
    expect(overlapping(runsOf(queue), cut)).toEqual([]);
    // The rounds tested something: victims were killed in the middle of runs, taken back.
    expect(killedRunning).toBeGreaterThanOrEqual(10);
    const lost = tasks.filter((t) => yggOf(t).history?.some((h) => h.outcome === 'lost')).length;
    expect(lost).toBeGreaterThanOrEqual(10);
    await queue.store.close();
  }, 170_000);

  it('a dispatcher that stops answering (SIGSTOP) keeps its tasks until its lease lapses, then they run elsewhere', async () => {
    const queue = await queueWith('pg-failover-stop', '6s');
    const stopped = await startLoop(queue, 'stopped');
    const ids = await addWork(queue, 2, 60_000);
    await waitUntil(() => runsOf(queue).length === 2 || undefined, { what: 'both to run' });
    const survivor = await startLoop(queue, 'survivor');
    const survivorPid = survivor.child.pid as number;
    await loopsSeeEachOther(queue.url, 2);
    const cut = new Map<number, number>();
    stopped.child.kill('SIGSTOP');
    cut.set(stopped.child.pid as number, Date.now());
    await queue.store.refresh();
    const expiries = ids.map((id) => Date.parse(yggOf(queue.store.get(id) as Task).lease?.expires ?? ''));
    const takenBack = await waitUntil(
      () => {
        const restarted = runsOf(queue).filter((run) => run.pid === survivorPid);
        return restarted.length === 2 ? restarted : undefined;
      },
      { timeoutMs: 40_000, what: 'the survivor to run both' },
    );
    for (const run of takenBack) {
      const expires = expiries[ids.indexOf(run.id)] as number;
      // Not before the lease lapsed (its lock was held all along), and soon after.
      expect(run.start).toBeGreaterThanOrEqual(expires);
      expect(run.start - expires).toBeLessThan(15_000);
    }
    expect(overlapping(runsOf(queue), cut)).toEqual([]);
    stopped.child.kill('SIGKILL');
    await stopped.exited;
    await survivor.stop();
    await queue.store.close();
  }, 180_000);
});
