/**
 * `ygg loop` processes sharing one PostgreSQL store (as dispatchers on different machines would):
 * slots hold across them, every task closes once, a killed dispatcher's tasks are taken back, and
 * the database restarting mid-run loses nothing. Judged from the database's rows and what the
 * loops logged about each attempt.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { type AttemptRecord, type Task, yggOf } from '../../src/store/task.js';
import { repoRoot, runYgg } from '../helpers/cli.js';
import { type LoopProcess, mostAtOnce, spawnLoop, succeededAttempts } from '../helpers/loop-process.js';
import { startPostgres, type TestPostgres, withClient } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

interface Queue {
  dir: string;
  url: string;
  store: PostgresStore;
}

/** A fresh database, and a folder with the loops' hosts.yaml (each loop gets its own runtime folder). */
async function queueWith(name: string, hostsYaml: string | { copyFrom: string }): Promise<Queue> {
  const dir = await testDir(name);
  if (typeof hostsYaml === 'string') await writeFile(join(dir, 'hosts.yaml'), hostsYaml);
  else await copyFile(hostsYaml.copyFrom, join(dir, 'hosts.yaml'));
  const url = await server.newDatabase();
  const store = await PostgresStore.open({ url, runtimeDir: join(dir, 'submitter'), pollIntervalMs: 1000 });
  return { dir, url, store };
}

/** Starts a loop on the queue's database and waits until it runs. */
async function startLoop(queue: Queue, name: string, args: string[] = []): Promise<LoopProcess> {
  const runtime = join(queue.dir, name);
  const loop = spawnLoop(
    queue.dir,
    ['--store', queue.url, '--config', join(queue.dir, 'hosts.yaml'), ...args],
    {
      cwd: runtime,
    },
  );
  await loop.logged((line) => line.event === 'loop:state' && line.state === 'running');
  return loop;
}

async function addAll(queue: Queue, type: string, count: number, simulateMs: number): Promise<string[]> {
  const added = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      queue.store.add({
        title: `${type} ${i + 1}`,
        labels: [type],
        metadata: { ygg: { handler: 'simulate', simulate_ms: simulateMs } },
      }),
    ),
  );
  return added.map((t) => t.id);
}

/** Resolves once every id is closed in the database (the store's mirror follows NOTIFY). */
function allClosed(queue: Queue, ids: string[], ms = 90_000): Promise<Task[]> {
  const done = () => ids.every((id) => queue.store.statusOf(id) === 'closed');
  return new Promise((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      stop();
      resolve(ids.map((id) => queue.store.get(id) as Task));
    };
    const timer = setTimeout(() => {
      stop();
      const left = ids.filter((id) => queue.store.statusOf(id) !== 'closed');
      reject(new Error(`not closed in ${ms} ms: ${left.map((id) => `${id} ${queue.store.statusOf(id)}`)}`));
    }, ms);
    const stop = queue.store.watch(() => {
      if (done()) finish();
    });
    if (done()) finish();
  });
}

const successes = (task: Task): AttemptRecord[] =>
  (yggOf(task).history ?? []).filter((h) => h.outcome === 'succeeded');

describe('ygg loop processes on one PostgreSQL store', () => {
  it('four loops of 2 executors each on the shipped hosts.yaml (2/3/2 slots): no host over its slots, no loop over 2, every task closed once', async () => {
    const queue = await queueWith('pg-four-loops', { copyFrom: join(repoRoot, 'hosts.yaml') });
    const loops = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) => startLoop(queue, name, ['--concurrency', '2'])),
    );
    // reasoning → surtr-reasoning (2 slots), summarize → fenrir-chat (3), code-generation → skadi-code (2).
    const ids = [
      ...(await addAll(queue, 'reasoning', 10, 400)),
      ...(await addAll(queue, 'summarize', 12, 400)),
      ...(await addAll(queue, 'code-generation', 10, 400)),
    ];
    const tasks = await allClosed(queue, ids);
    for (const loop of loops) expect(await loop.stop(), loop.stderr()).toEqual({ code: 0, signal: null });
    const attempts = succeededAttempts(loops.flatMap((l) => l.lines()));
    for (const loop of loops)
      expect(mostAtOnce(succeededAttempts(loop.lines())), 'most at once in one loop').toBeLessThanOrEqual(2);
    for (const task of tasks) {
      expect(successes(task), `${task.id}'s history`).toHaveLength(1);
      expect(attempts.filter((a) => a.taskId === task.id)).toHaveLength(1);
    }
    for (const [host, slots] of [
      ['surtr-reasoning', 2],
      ['fenrir-chat', 3],
      ['skadi-code', 2],
    ] as const) {
      const on = attempts.filter((a) => a.host === host);
      expect(on.length, `attempts on ${host}`).toBeGreaterThan(0);
      expect(mostAtOnce(on), `most at once on ${host}`).toBeLessThanOrEqual(slots);
    }
    // The database held the same line all along: its constraint and trigger were there to refuse.
    const guards = await withClient(queue.url, async (c) => {
      const constraints = await c.query<{ conname: string }>(
        `SELECT conname FROM pg_constraint WHERE conrelid = 'ygg_issues'::regclass ORDER BY conname`,
      );
      return constraints.rows.map((r) => r.conname);
    });
    expect(guards).toEqual(expect.arrayContaining(['ygg_one_lease_per_slot', 'ygg_lease_slot_of_host']));
    await queue.store.close();
  });

  it('kill -9 of a dispatcher: the other takes its tasks back after the lease, none run twice', async () => {
    const queue = await queueWith(
      'pg-kill',
      `
hosts:
  surtr: { transport: local, slots: 2 }
  fenrir: { transport: local, slots: 2 }
types:
  work: { hosts: [surtr, fenrir] }
queue:
  lease: 2s
`,
    );
    const victim = await startLoop(queue, 'victim');
    const ids = await addAll(queue, 'work', 8, 1500);
    await victim.logged((line) => line.event === 'task:started');
    victim.child.kill('SIGKILL');
    await victim.exited;
    await queue.store.refresh();
    const taken = ids.filter((id) => queue.store.statusOf(id) === 'in_progress');
    expect(taken.length).toBeGreaterThan(0);
    const survivor = await startLoop(queue, 'survivor');
    const tasks = await allClosed(queue, ids);
    expect(await survivor.stop()).toEqual({ code: 0, signal: null });
    for (const task of tasks) expect(successes(task), `${task.id}'s history`).toHaveLength(1);
    for (const id of taken) {
      const history = yggOf(tasks.find((t) => t.id === id) as Task).history ?? [];
      expect(history.map((h) => h.outcome)).toEqual(['lost', 'succeeded']);
    }
    await queue.store.close();
  });

  it('the database restarting mid-run: nothing lost, nothing closed twice', async () => {
    const queue = await queueWith(
      'pg-restart',
      `
hosts:
  surtr: { transport: local, slots: 3 }
  fenrir: { transport: local, slots: 3 }
types:
  work: { hosts: [surtr, fenrir] }
queue:
  lease: 5s
`,
    );
    // A short poll: the loops look at the store and the switches while the database is away.
    const loops = [
      await startLoop(queue, 'a', ['--interval', '100ms']),
      await startLoop(queue, 'b', ['--interval', '100ms']),
    ];
    const ids = await addAll(queue, 'work', 40, 400);
    await Promise.any(loops.map((l) => l.logged((line) => line.event === 'task:succeeded')));
    await server.restart();
    const tasks = await allClosed(queue, ids, 100_000).catch((error: Error) => {
      const tail = loops.map(
        (l) =>
          l
            .lines()
            .slice(-15)
            .map((line) => JSON.stringify(line))
            .join('\n') + l.stderr(),
      );
      throw new Error(`${error.message}\n${tail.join('\n---\n')}`);
    });
    for (const loop of loops) expect(await loop.stop(), loop.stderr()).toEqual({ code: 0, signal: null });
    for (const task of tasks) expect(successes(task), `${task.id}'s history`).toHaveLength(1);
    for (const loop of loops) {
      expect(loop.stderr()).toContain('ygg: lost the database postgres://');
      expect(loop.stderr()).toMatch(/ygg: the database postgres:\/\/\S+ is back/);
    }
    await queue.store.close();
  }, 150_000);

  it('a task with the boost label starts first within its priority, the rest in order, and its boost is marked used', async () => {
    const queue = await queueWith('pg-boost', 'hosts:\n  surtr: { transport: local, slots: 1 }\n');
    const add = (title: string, labels?: string[]) =>
      queue.store.add({
        title,
        priority: 2,
        ...(labels ? { labels } : {}),
        metadata: { ygg: { handler: 'simulate', simulate_ms: 50 } },
      });
    const plain = [await add('first'), await add('second')];
    const boosted = await add('boosted', ['boost']);
    const later = await add('third');
    const loop = await startLoop(queue, 'dispatcher');
    const tasks = await allClosed(
      queue,
      [...plain, boosted, later].map((t) => t.id),
    );
    expect(await loop.stop()).toEqual({ code: 0, signal: null });
    // In the order the loop logged their starts (one slot: one at a time).
    const titleOf = new Map(tasks.map((t) => [t.id, t.title]));
    const started = loop.lines().filter((line) => line.event === 'task:started');
    expect(started.map((line) => titleOf.get(line.task_id ?? ''))).toEqual([
      'boosted',
      'first',
      'second',
      'third',
    ]);
    expect(yggOf(tasks[2] as Task).boosted).toMatch(/^\d{4}-/);
    await queue.store.close();
  });

  it('ygg pause and hosts drain from another folder reach a loop through the database', async () => {
    const queue = await queueWith(
      'pg-pause',
      `
hosts:
  surtr: { transport: local, slots: 2 }
  fenrir: { transport: local, slots: 2 }
types:
  work: { hosts: [surtr, fenrir] }
`,
    );
    const loop = await startLoop(queue, 'dispatcher');
    // Another machine: its own folder, no .ygg/ shared with the loop's.
    const elsewhere = join(queue.dir, 'elsewhere');
    await mkdir(elsewhere);
    const config = join(queue.dir, 'hosts.yaml');
    const cli = (args: string[]) => runYgg([...args, '--store', queue.url], { cwd: queue.dir });
    expect((await cli(['pause'])).code).toBe(0);
    await loop.logged((line) => line.event === 'queue:paused' && line.paused === true);
    // (`hosts` takes --store and --config itself, before its subcommand sees them: the environment here.)
    const drain = await runYgg(['hosts', 'drain', 'surtr'], {
      cwd: elsewhere,
      env: { YGG_STORE: queue.url, YGG_CONFIG: config },
    });
    expect(drain.code, drain.stderr).toBe(0);
    await loop.logged((line) => line.event === 'host:drain' && line.host === 'surtr');
    const ids = await addAll(queue, 'work', 4, 100);
    const ready = await runYgg(['list', '--ready', '--json', '--store', queue.url, '--config', config], {
      cwd: elsewhere,
    });
    expect(ready.stdout).toContain('paused');
    expect((await cli(['resume'])).code).toBe(0);
    const tasks = await allClosed(queue, ids);
    expect(await loop.stop()).toEqual({ code: 0, signal: null });
    // Drained: every attempt ran on fenrir.
    for (const task of tasks) expect(yggOf(task).history?.map((h) => h.host)).toEqual(['fenrir']);
    await queue.store.close();
  });
});
