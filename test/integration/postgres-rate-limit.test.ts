/**
 * `queue.rate_limit` on a PostgreSQL store holds across dispatchers: two `ygg loop` processes in
 * their own folders (as on two machines) together start one submitter's tasks no faster than
 * the limit, not each at its own rate; every task still runs once, no attempt spent on waiting.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { spawnLoop } from '../helpers/loop-process.js';
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

const hostsYaml = `
hosts:
  surtr: { transport: local, slots: 4 }
types:
  work: { hosts: [surtr] }
queue:
  rate_limit: { min_gap: 2s }
`;

describe('a rate limit across dispatchers on one PostgreSQL store', () => {
  it('two loops start one submitter’s tasks at least min_gap apart, all of them once', async () => {
    const dir = await testDir('pg-rate');
    const config = join(dir, 'hosts.yaml');
    await writeFile(config, hostsYaml);
    const url = await server.newDatabase();
    const store = await PostgresStore.open({ url, runtimeDir: join(dir, 'submitter'), pollIntervalMs: 500 });
    try {
      const loops = [];
      for (const name of ['a', 'b']) {
        const cwd = join(dir, name);
        await mkdir(cwd);
        const loop = spawnLoop(dir, ['--store', url, '--config', config, '--interval', '200ms'], { cwd });
        await loop.logged((line) => line.event === 'loop:state' && line.state === 'running');
        loops.push(loop);
      }
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push(
          (
            await store.add({
              title: `alice's ${i + 1}`,
              labels: ['work'],
              created_by: 'alice',
              metadata: { ygg: { handler: 'simulate', simulate_ms: 50 } },
            })
          ).id,
        );
      const tasks = await waitUntil(
        async () => {
          await store.refresh();
          const all = ids.map((id) => store.get(id));
          return all.every((t) => t?.status === 'closed') ? (all as Task[]) : false;
        },
        { what: 'every task closed', timeoutMs: 90_000, intervalMs: 250 },
      );
      for (const loop of loops) expect(await loop.stop(), loop.stderr()).toEqual({ code: 0, signal: null });

      // Each ran once, on its first attempt: waiting for the limit spends no attempt.
      for (const task of tasks) expect(yggOf(task).history?.map((h) => h.outcome)).toEqual(['succeeded']);
      const starts = loops
        .flatMap((loop) => loop.lines())
        .filter((line) => line.event === 'task:started')
        .map((line) => Date.parse(line.time))
        .sort((a, b) => a - b);
      expect(starts).toHaveLength(5);
      // 2 s apart at the store; a start is logged a little after its claim, so allow 1 s of that.
      const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
      for (const gap of gaps)
        expect(gap, `gaps between starts: ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual(1000);
    } finally {
      await store.close();
    }
  }, 120_000);
});
