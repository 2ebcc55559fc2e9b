/**
 * Leases on a PostgreSQL store: 15 s by default, and written and judged on the database's clock,
 * so a dispatcher whose machine clock is 30 s off neither takes another's live task nor writes
 * leases that read as lapsed to the others. Each loop runs as if on a machine of its own (a
 * preload gives it another host name and, where asked, a skewed `Date`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { runYgg } from '../helpers/cli.js';
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

interface Queue {
  dir: string;
  url: string;
  store: PostgresStore;
}

async function newQueue(name: string): Promise<Queue> {
  const dir = await testDir(name);
  const url = await server.newDatabase();
  const store = await PostgresStore.open({ url, runtimeDir: join(dir, 'submitter') });
  return { dir, url, store };
}

/** A hosts.yaml for one loop: its hosts (name: slots) all run `work`; `lease` unset leaves the store's default. */
async function hostsFile(
  queue: Queue,
  file: string,
  hosts: Record<string, number>,
  lease?: string,
): Promise<string> {
  const path = join(queue.dir, file);
  const names = Object.keys(hosts);
  await writeFile(
    path,
    `hosts:
${names.map((host) => `  ${host}: { transport: local, slots: ${hosts[host]} }`).join('\n')}
types:
  work: { hosts: [${names.join(', ')}] }
queue:
${lease ? `  lease: ${lease}\n` : ''}  shutdown_grace: 1s
`,
  );
  return path;
}

async function startLoop(queue: Queue, name: string, config: string, clockSkewMs = 0): Promise<LoopProcess> {
  const loop = spawnLoop(queue.dir, ['--store', queue.url, '--config', config], {
    cwd: join(queue.dir, name),
    env: otherMachine(`machine-${name}`, { clockSkewMs }),
  });
  await loop.logged((line) => line.event === 'loop:state' && line.state === 'running');
  return loop;
}

function addWork(queue: Queue, title: string, simulateMs: number): Promise<Task> {
  return queue.store.add({
    title,
    labels: ['work'],
    metadata: { ygg: { handler: 'simulate', simulate_ms: simulateMs } },
  });
}

/** The task as the database has it now, once `ok` holds for it. */
function waitFor(queue: Queue, id: string, ok: (task: Task) => boolean, what: string): Promise<Task> {
  return waitUntil(
    async () => {
      await queue.store.refresh();
      const task = queue.store.get(id);
      return task && ok(task) ? task : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what },
  );
}

async function databaseNow(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ ms: string }>(
      'SELECT (extract(epoch from clock_timestamp()) * 1000)::text AS ms',
    );
    return Number(result.rows[0]?.ms);
  } finally {
    await client.end();
  }
}

/** How far ahead of the database's clock the task's lease lapses, in ms. */
async function leaseAhead(queue: Queue, task: Task): Promise<number> {
  const expires = Date.parse(yggOf(task).lease?.expires ?? '');
  return expires - (await databaseNow(queue.url));
}

const running = (task: Task) => task.status === 'in_progress' && yggOf(task).lease !== undefined;

describe('leases on a PostgreSQL store', () => {
  it('are 15 s long when hosts.yaml sets no lease', async () => {
    const queue = await newQueue('pg-lease-default');
    const loop = await startLoop(queue, 'one', await hostsFile(queue, 'hosts.yaml', { here: 1 }));
    const task = await addWork(queue, 'long', 60_000);
    const claimed = await waitFor(queue, task.id, running, 'the task to run');
    const ahead = await leaseAhead(queue, claimed);
    // Renewed every 5 s: between 10 and 15 s ahead (60 s ahead with the file store's default).
    expect(ahead).toBeGreaterThan(8_000);
    expect(ahead).toBeLessThanOrEqual(15_500);
    await loop.stop();
    await queue.store.close();
  });

  it('a dispatcher whose clock is 30 s ahead does not take a live task of another', async () => {
    const queue = await newQueue('pg-lease-clock-ahead');
    const first = await startLoop(queue, 'first', await hostsFile(queue, 'first.yaml', { alpha: 1 }, '15s'));
    const long = await addWork(queue, 'long', 120_000);
    const held = await waitFor(queue, long.id, running, 'the long task to run on the first dispatcher');
    const owner = yggOf(held).lease?.owner;
    // Its clock reads the first lease (15 s ahead of the database) as lapsed 15 s ago.
    const ahead = await startLoop(
      queue,
      'ahead',
      await hostsFile(queue, 'ahead.yaml', { beta: 2 }, '15s'),
      30_000,
    );
    // The second dispatcher at work: it runs a task of its own, after passes that saw the long one.
    const short = await addWork(queue, 'short', 100);
    const done = await waitFor(queue, short.id, (t) => t.status === 'closed', 'the short task to close');
    expect(yggOf(done).history?.map((h) => h.host)).toEqual(['beta']);
    // Its lease was written on the database's clock, not 30 s ahead of it.
    const again = await addWork(queue, 'second long', 120_000);
    const its = await waitFor(queue, again.id, running, 'the second long task to run');
    expect(yggOf(its).lease?.host).toBe('beta');
    expect(await leaseAhead(queue, its)).toBeLessThanOrEqual(15_500);
    const still = await waitFor(queue, long.id, () => true, 'the long task');
    expect(still.status).toBe('in_progress');
    expect(yggOf(still).lease?.owner).toBe(owner);
    expect(yggOf(still).history?.map((h) => h.host)).toEqual(['alpha']);
    expect(ahead.lines().some((l) => l.task_id === long.id)).toBe(false);
    await Promise.all([first.stop(), ahead.stop()]);
    await queue.store.close();
  });

  it('a dispatcher whose clock is 30 s behind writes leases the others read as live', async () => {
    const queue = await newQueue('pg-lease-clock-behind');
    const behind = await startLoop(
      queue,
      'behind',
      await hostsFile(queue, 'behind.yaml', { alpha: 1 }, '15s'),
      -30_000,
    );
    const long = await addWork(queue, 'long', 120_000);
    const held = await waitFor(queue, long.id, running, 'the long task to run on the dispatcher behind');
    // On its own clock the lease would have lapsed 15 s before it was written.
    const ahead = await leaseAhead(queue, held);
    expect(ahead).toBeGreaterThan(8_000);
    expect(ahead).toBeLessThanOrEqual(15_500);
    const other = await startLoop(queue, 'other', await hostsFile(queue, 'other.yaml', { beta: 2 }, '15s'));
    const short = await addWork(queue, 'short', 100);
    const done = await waitFor(queue, short.id, (t) => t.status === 'closed', 'the short task to close');
    expect(yggOf(done).history?.map((h) => h.host)).toEqual(['beta']);
    const still = await waitFor(queue, long.id, () => true, 'the long task');
    expect(still.status).toBe('in_progress');
    expect(yggOf(still).history?.map((h) => h.host)).toEqual(['alpha']);
    expect(other.lines().some((l) => l.task_id === long.id)).toBe(false);
    // doctor on that machine still says its clock is off.
    const doctor = await runYgg(['doctor', '--json', '--config', join(queue.dir, 'behind.yaml')], {
      cwd: queue.dir,
      env: { ...otherMachine('machine-behind', { clockSkewMs: -30_000 }), YGG_STORE: queue.url },
    });
    const entries = JSON.parse(doctor.stdout) as {
      host: string;
      steps: { step: string; status: string; detail: string }[];
    }[];
    const clock = entries.find((e) => e.host === 'store')?.steps.find((s) => s.step === 'clock');
    expect(clock?.status).toBe('warn');
    expect(clock?.detail).toMatch(/clock is (29\d{3}|3\d{4}) ms behind the database's/);
    await Promise.all([behind.stop(), other.stop()]);
    await queue.store.close();
  });
});
