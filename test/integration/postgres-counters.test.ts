/**
 * `ygg stats` on a PostgreSQL store: the counters are kept in the database, so two dispatchers
 * in their own folders (as on two machines) add to the same totals, and `ygg stats` from a
 * third folder shows every dispatcher's work summed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountersData } from '../../src/observe/counters.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { runYgg } from '../helpers/cli.js';
import { type LoopProcess, spawnLoop } from '../helpers/loop-process.js';
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

/** Each dispatcher has a host of its own, so both do some of the work. */
const hostsYaml = (host: string) => `
hosts:
  ${host}: { transport: local, slots: 2 }
types:
  work: { hosts: [${host}] }
`;

describe('counters on a PostgreSQL store', () => {
  it('two dispatchers’ starts and successes are summed, and ygg stats elsewhere shows them', async () => {
    const dir = await testDir('pg-counters');
    const url = await server.newDatabase();
    const store = await PostgresStore.open({ url, runtimeDir: join(dir, 'submitter'), pollIntervalMs: 500 });
    try {
      const loops: LoopProcess[] = [];
      for (const host of ['surtr', 'fenrir']) {
        const cwd = join(dir, host);
        await mkdir(cwd);
        await writeFile(join(cwd, 'hosts.yaml'), hostsYaml(host));
        const loop = spawnLoop(dir, ['--store', url, '--config', join(cwd, 'hosts.yaml')], { cwd });
        await loop.logged((line) => line.event === 'loop:state' && line.state === 'running');
        loops.push(loop);
      }
      const submitters = ['alice', 'bob'];
      const ids: string[] = [];
      for (let i = 0; i < 12; i++)
        ids.push(
          (
            await store.add({
              title: `job ${i + 1}`,
              labels: ['work'],
              created_by: submitters[i % 2]!,
              metadata: { ygg: { handler: 'simulate', simulate_ms: 300 } },
            })
          ).id,
        );
      await waitUntil(
        async () => {
          await store.refresh();
          return ids.every((id) => store.get(id)?.status === 'closed');
        },
        { what: 'every task closed', timeoutMs: 90_000, intervalMs: 250 },
      );
      for (const loop of loops) expect(await loop.stop(), loop.stderr()).toEqual({ code: 0, signal: null });
      // Both dispatchers did some of it.
      for (const loop of loops) expect(loop.lines().some((l) => l.event === 'task:succeeded')).toBe(true);

      const elsewhere = join(dir, 'elsewhere');
      await mkdir(elsewhere);
      const result = await runYgg(['stats', '--json', '--store', url], { cwd: elsewhere });
      expect(result.code, result.stderr).toBe(0);
      const stats = JSON.parse(result.stdout) as CountersData;
      for (const who of submitters)
        expect(stats.submitters[who]).toEqual({ attempts: 6, evaluations: 0, successes: 6, failures: 0 });
      expect(stats.types.work).toEqual({ attempts: 12, evaluations: 0, successes: 12, failures: 0 });
      const text = await runYgg(['stats', '--store', url], { cwd: elsewhere });
      expect(text.stdout).toMatch(/alice\s+6\s+0\s+6\s+0/);
    } finally {
      await store.close();
    }
  }, 120_000);
});
