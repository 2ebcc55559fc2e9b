/**
 * Policy versions on a PostgreSQL store: publications from two machines (two runtime folders on
 * one database) are numbered from one counter in the database, never one number twice, and
 * `ygg policy` from a third folder lists them all; each checkpoint stays on its machine.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyStore, type PolicyVersion } from '../../src/pipeline/policy.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { runYgg } from '../helpers/cli.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { testDir } from '../helpers/tmp.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  await server?.stop();
});

describe('policy versions on a PostgreSQL store', () => {
  it('two machines publishing at once get distinct numbers from the database; ygg policy elsewhere lists them', async () => {
    const dir = await testDir('pg-policy');
    const url = await server.newDatabase();
    const machines = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const runtimeDir = join(dir, name, '.ygg');
        const store = await PostgresStore.open({ url, runtimeDir });
        const checkpoint = join(dir, name, 'out.onnx');
        await mkdir(join(dir, name), { recursive: true });
        await writeFile(checkpoint, `trained on ${name}`);
        const policy = await PolicyStore.open(runtimeDir, { shared: store.sharedState });
        return { name, store, checkpoint, policy };
      }),
    );
    try {
      const [a, b] = machines as [(typeof machines)[0], (typeof machines)[0]];
      const initial = await a.policy.ensureInitial(a.checkpoint);
      expect(initial.version).toBe(0);
      // The other machine finds it there: no second initial version.
      expect((await b.policy.ensureInitial(b.checkpoint)).version).toBe(0);
      const published = await Promise.all(
        Array.from({ length: 6 }, (_, i) => {
          const m = i % 2 ? a : b;
          return m.policy.publish({
            checkpointFile: m.checkpoint,
            batchSize: 4,
            meanReward: i,
            host: m.name,
          });
        }),
      );
      expect(published.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      for (const v of published) expect(await readFile(v.checkpoint, 'utf8')).toBe(`trained on ${v.host}`);
      await a.policy.reload();
      expect(a.policy.version()).toBe(6);

      const elsewhere = join(dir, 'elsewhere');
      await mkdir(elsewhere);
      const listed = await runYgg(['policy', '--json', '--store', url], { cwd: elsewhere });
      expect(listed.code, listed.stderr).toBe(0);
      const rows = JSON.parse(listed.stdout) as PolicyVersion[];
      expect(rows.map((v) => v.version)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(new Set(rows.slice(1).map((v) => v.host))).toEqual(new Set(['a', 'b']));
    } finally {
      for (const m of machines) await m.store.close();
    }
  });
});
