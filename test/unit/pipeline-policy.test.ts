import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyStore } from '../../src/pipeline/policy.js';
import { runYgg } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

describe('policy versions', () => {
  it('publishes versions as an atomic counter with records, kept across a restart', async () => {
    const dir = await testDir('policy-versions');
    const checkpoint = join(dir, 'out.onnx');
    await writeFile(checkpoint, 'v0 bytes');
    let clock = Date.parse('2026-02-01T00:00:00.000Z');
    const store = await PolicyStore.open(dir, { now: () => new Date(clock) });
    expect(store.version()).toBe(0);
    expect(store.current()).toBeUndefined();
    await store.ensureInitial(checkpoint);
    await writeFile(checkpoint, 'v1 bytes');
    clock += 1000;
    const v1 = await store.publish({
      checkpointFile: checkpoint,
      batchSize: 8,
      meanReward: 0.25,
      trainMs: 12,
      host: 'surtr',
    });
    expect(v1).toMatchObject({
      version: 1,
      batchSize: 8,
      meanReward: 0.25,
      publishedAt: '2026-02-01T00:00:01.000Z',
    });
    expect(await readFile(v1.checkpoint, 'utf8')).toBe('v1 bytes');
    expect(await store.ensureInitial(checkpoint)).toEqual(v1); // only before any version

    const reopened = await PolicyStore.open(dir);
    expect(reopened.version()).toBe(1);
    expect(reopened.list().map((v) => v.version)).toEqual([0, 1]);
    expect(await readFile(reopened.list()[0]!.checkpoint, 'utf8')).toBe('v0 bytes');
  });

  it('never hands out one number twice, even to two stores publishing at once', async () => {
    const dir = await testDir('policy-race');
    const checkpoint = join(dir, 'c.onnx');
    await writeFile(checkpoint, 'x');
    const a = await PolicyStore.open(dir);
    const b = await PolicyStore.open(dir);
    const published = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).publish({ checkpointFile: checkpoint, batchSize: 1, meanReward: i }),
      ),
    );
    expect(published.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await PolicyStore.read(dir)).map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ygg policy lists the versions, as a table and as JSON', async () => {
    const dir = await testDir('policy-cli');
    await runYgg(['init'], { cwd: dir });
    const runtimeDir = join(dir, '.ygg');
    const checkpoint = join(dir, 'c.onnx');
    await writeFile(checkpoint, 'x');
    const store = await PolicyStore.open(runtimeDir);
    await store.ensureInitial(checkpoint);
    await store.publish({
      checkpointFile: checkpoint,
      batchSize: 16,
      meanReward: 0.4375,
      trainMs: 80,
      host: 'rl-learner',
    });

    const json = await runYgg(['policy', '--json'], { cwd: dir });
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as Array<{
      version: number;
      batchSize: number;
      meanReward: number | null;
    }>;
    expect(rows.map((r) => [r.version, r.batchSize, r.meanReward])).toEqual([
      [0, 0, null],
      [1, 16, 0.4375],
    ]);
    const table = await runYgg(['policy'], { cwd: dir });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/version +published +batch +mean reward/);
    expect(table.stdout).toMatch(/\n +1 +\S+ +16 +0\.438 +0 +80 +rl-learner\n/);
  });
});
