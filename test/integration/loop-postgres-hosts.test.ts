/**
 * Hosts and slots in the PostgreSQL store: the first dispatcher writes its hosts.yaml's hosts;
 * a second whose hosts.yaml differs says so plainly and follows the database's slots (judged
 * from the attempts it logged: never more at once than the database allows); `ygg doctor` tells
 * the difference; `ygg hosts sync` makes this hosts.yaml the database's, and the running
 * dispatcher follows it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Task } from '../../src/store/task.js';
import { runYgg } from '../helpers/cli.js';
import { type LoopProcess, mostAtOnce, spawnLoop, succeededAttempts } from '../helpers/loop-process.js';
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

/** A hosts.yaml: its hosts (name: slots); `work` runs on `shared` only. */
async function hostsFile(dir: string, file: string, hosts: Record<string, number>): Promise<string> {
  const path = join(dir, file);
  await writeFile(
    path,
    `hosts:
${Object.entries(hosts)
  .map(([host, slots]) => `  ${host}: { transport: local, slots: ${slots} }`)
  .join('\n')}
types:
  work: { hosts: [shared] }
queue:
  shutdown_grace: 1s
`,
  );
  return path;
}

async function startLoop(dir: string, url: string, name: string, config: string): Promise<LoopProcess> {
  const loop = spawnLoop(dir, ['--store', url, '--config', config], {
    cwd: join(dir, name),
    env: otherMachine(`machine-${name}`),
  });
  await loop.logged((line) => line.event === 'loop:state' && line.state === 'running');
  return loop;
}

async function runAll(store: PostgresStore, count: number, simulateMs: number): Promise<void> {
  const tasks = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      store.add({
        title: `work ${i + 1}`,
        labels: ['work'],
        metadata: { ygg: { handler: 'simulate', simulate_ms: simulateMs } },
      }),
    ),
  );
  await waitUntil(
    async () => {
      await store.refresh();
      return tasks.every((t) => (store.get(t.id) as Task).status === 'closed');
    },
    { timeoutMs: 90_000, intervalMs: 100, what: `${count} tasks to close` },
  );
}

async function slotRows(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ host: string; n: number }>(
      'SELECT host, count(*)::int AS n FROM ygg_slots GROUP BY host ORDER BY host',
    );
    return Object.fromEntries(result.rows.map((r) => [r.host, r.n]));
  } finally {
    await client.end();
  }
}

async function doctorHosts(dir: string, url: string, config: string) {
  const run = await runYgg(['doctor', '--json', '--config', config], { cwd: dir, env: { YGG_STORE: url } });
  const entries = JSON.parse(run.stdout) as {
    host: string;
    steps: { step: string; status: string; detail: string; fix?: string }[];
  }[];
  return entries.find((e) => e.host === 'store')?.steps.find((s) => s.step === 'hosts');
}

describe('hosts and slots in the PostgreSQL store', () => {
  it('a dispatcher whose hosts.yaml differs says so and follows the database; hosts sync changes it', async () => {
    const dir = await testDir('pg-hosts-slots');
    const url = await server.newDatabase();
    const store = await PostgresStore.open({ url, runtimeDir: join(dir, 'submitter') });
    const firstYaml = await hostsFile(dir, 'first.yaml', { shared: 2, alpha: 1 });
    const secondYaml = await hostsFile(dir, 'second.yaml', { shared: 5 });

    // The first dispatcher writes its hosts: one row per slot.
    const first = await startLoop(dir, url, 'first', firstYaml);
    expect(await slotRows(url)).toEqual({ alpha: 1, shared: 2 });
    await first.stop();

    const second = await startLoop(dir, url, 'second', secondYaml);
    // Said before it started (stderr and the log arrive on pipes of their own).
    const said = await waitUntil(() => second.stderr().includes('ygg hosts sync') && second.stderr(), {
      what: 'the second dispatcher to say how its hosts differ',
    });
    expect(said).toMatch(
      /ygg: host shared has 5 slots in this hosts\.yaml but 2 in the database \(written by machine-first:\d+:\d+ at [^)]+\); following the database's 2/,
    );
    expect(said).toMatch(/ygg: host alpha is in the database \(1 slot, written by machine-first:/);
    expect(said).toContain('ygg hosts sync');
    // Said once, not on every pass.
    expect(said.split('host shared has 5 slots').length).toBe(2);

    const doctor = await doctorHosts(dir, url, secondYaml);
    expect(doctor?.status).toBe('warn');
    expect(doctor?.detail).toContain('host shared has 5 slots in this hosts.yaml but 2 in the database');
    expect(doctor?.fix).toContain('ygg hosts sync');
    // ygg hosts shows the slots in force, the database's, and says why they are not this file's.
    const shown = await runYgg(['hosts', '--json', '--store', url, '--config', secondYaml], { cwd: dir });
    expect(shown.code, shown.stderr).toBe(0);
    const [shared] = JSON.parse(shown.stdout) as Array<{
      name: string;
      slots: { configured: number };
      note?: string;
    }>;
    expect(shared?.name).toBe('shared');
    expect(shared?.slots.configured).toBe(2);
    expect(shared?.note).toMatch(
      /5 slots in this hosts\.yaml but 2 in the database .*following the database's 2/,
    );

    // Its hosts.yaml allows 5 at once on shared; the database 2, and 2 it is.
    await runAll(store, 8, 600);
    const before = succeededAttempts(second.lines()).filter((a) => a.host === 'shared');
    expect(before).toHaveLength(8);
    expect(mostAtOnce(before)).toBe(2);

    // The deliberate change: this hosts.yaml into the database; the running dispatcher follows.
    const sync = await runYgg(['hosts', 'sync', '--json', '--store', url, '--config', secondYaml], {
      cwd: dir,
    });
    expect(sync.code).toBe(0);
    expect(JSON.parse(sync.stdout)).toMatchObject({ changed: ['shared'], removed: ['alpha'], added: [] });
    expect(await slotRows(url)).toEqual({ shared: 5 });
    const again = await runYgg(['hosts', 'sync', '--store', url, '--config', secondYaml], { cwd: dir });
    expect(again.stdout).toContain('shared: 5 slots\n  (nothing changed)');
    expect((await doctorHosts(dir, url, secondYaml))?.status).toBe('ok');
    await waitUntil(() => second.lines().some((l) => l.event === 'config:reloaded'), {
      what: 'the dispatcher to take up the new slots',
    });
    await runAll(store, 10, 600);
    const after = succeededAttempts(second.lines())
      .filter((a) => a.host === 'shared')
      .slice(8);
    expect(after).toHaveLength(10);
    expect(mostAtOnce(after)).toBeGreaterThan(2);
    expect(mostAtOnce(after)).toBeLessThanOrEqual(5);
    await second.stop();
    await store.close();
  });

  it('ygg hosts sync on the file store is a usage error', async () => {
    const dir = await testDir('pg-hosts-sync-file');
    const config = await hostsFile(dir, 'hosts.yaml', { shared: 1 });
    await runYgg(['init'], { cwd: dir });
    const run = await runYgg(['hosts', 'sync', '--config', config], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ygg: the store .* keeps no hosts/);
  });
});
