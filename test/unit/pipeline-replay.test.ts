import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../examples/rl/problems.js';
import { ReplayBuffer } from '../../src/pipeline/replay.js';
import type { Trajectory } from '../../src/pipeline/trajectory.js';
import { testDir } from '../helpers/tmp.js';

function scored(id: string, reward: number, extra: Partial<Trajectory> = {}): Trajectory {
  return {
    id,
    taskId: id,
    group: id,
    policyVersion: 0,
    admittedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:01.000Z',
    status: 'ok',
    steps: [],
    reward,
    ...extra,
  };
}

describe('ReplayBuffer', () => {
  it('persists across a restart (an atomic JSON file in the runtime dir)', async () => {
    const dir = await testDir('replay-persist');
    const first = await ReplayBuffer.inRuntimeDir(dir, { capacity: 10 });
    await first.add(scored('a', 1));
    await first.add(scored('b', 0, { policyVersion: 1 }));
    await first.markTrained(['a'], 1);
    const file = JSON.parse(await readFile(join(dir, 'replay.json'), 'utf8')) as { entries: unknown[] };
    expect(file.entries).toHaveLength(2);

    const reopened = await ReplayBuffer.inRuntimeDir(dir, { capacity: 10 });
    expect(reopened.size).toBe(2);
    expect(reopened.fresh().map((t) => t.id)).toEqual(['b']);
    expect(reopened.entries().find((e) => e.trajectory.id === 'a')?.trainedAt).toBe(1);
    await reopened.add(scored('c', 1));
    expect(reopened.entries().map((e) => e.seq)).toEqual([1, 2, 3]); // order kept across restarts
  });

  it('refuses failed or unscored trajectories', async () => {
    const buffer = await ReplayBuffer.inRuntimeDir(await testDir('replay-refuse'));
    await expect(buffer.add(scored('x', 1, { status: 'failed' }))).rejects.toThrow(/failed/);
    const { reward: _r, ...unscored } = scored('y', 1);
    await expect(buffer.add(unscored)).rejects.toThrow(/unscored/);
    expect(buffer.size).toBe(0);
  });

  it('stays within its capacity, evicting used entries before fresh ones', async () => {
    const buffer = await ReplayBuffer.inRuntimeDir(await testDir('replay-bounded'), { capacity: 3 });
    for (const id of ['a', 'b', 'c']) await buffer.add(scored(id, 0));
    await buffer.markTrained(['b'], 1);
    await buffer.add(scored('d', 0));
    expect(buffer.entries().map((e) => e.trajectory.id)).toEqual(['a', 'c', 'd']);
    await buffer.add(scored('e', 0));
    expect(buffer.entries().map((e) => e.trajectory.id)).toEqual(['c', 'd', 'e']);
  });

  it('draws a batch of fresh trajectories, oldest version first, setting stale ones apart', async () => {
    const buffer = await ReplayBuffer.inRuntimeDir(await testDir('replay-batch'));
    await buffer.add(scored('v0', 1, { policyVersion: 0 }));
    await buffer.add(scored('v2', 1, { policyVersion: 2 }));
    await buffer.add(scored('v1', 1, { policyVersion: 1 }));
    await buffer.add(scored('v3', 1, { policyVersion: 3 }));
    const notYet = buffer.drawBatch({ batchSize: 4, currentVersion: 3, maxStaleness: 1 });
    expect(notYet.batch).toBeUndefined();
    const drawn = buffer.drawBatch({ batchSize: 2, currentVersion: 3, maxStaleness: 1 });
    expect(drawn.stale.map((t) => t.id).sort()).toEqual(['v0', 'v1']);
    expect(drawn.batch?.map((t) => t.id)).toEqual(['v2', 'v3']);
    await buffer.markStale(drawn.stale.map((t) => t.id));
    expect(buffer.fresh().map((t) => t.id)).toEqual(['v2', 'v3']);
    expect(buffer.drawBatch({ batchSize: 2, currentVersion: 3, maxStaleness: 1 }).stale).toEqual([]);
  });

  it('draws by priority among fresh trajectories that can wait, ahead of an older version; last-chance ones first', async () => {
    const buffer = await ReplayBuffer.inRuntimeDir(await testDir('replay-batch-priority'));
    // Version 1: a steady group (always 1). Version 2: a flaky group (1, 0, 1, 0). Version 0: one steady.
    await buffer.add(scored('old', 1, { policyVersion: 0, group: 'old' }));
    for (let i = 0; i < 4; i++)
      await buffer.add(scored(`steady-${i}`, 1, { policyVersion: 1, group: 'steady' }));
    for (const [i, r] of [1, 0, 1, 0].entries())
      await buffer.add(scored(`flaky-${i}`, r, { policyVersion: 2, group: 'flaky' }));
    // At v2 with max_staleness 2: v0 is stale at v3 (last chance, first); v1 and v2 can wait, and
    // the flaky v2 group goes before the older steady v1 one.
    const drawn = buffer.drawBatch({ batchSize: 5, currentVersion: 2, maxStaleness: 2 });
    expect(drawn.stale).toEqual([]);
    expect(drawn.batch?.map((t) => t.id)).toEqual(['old', 'flaky-0', 'flaky-1', 'flaky-2', 'flaky-3']);
    await buffer.markTrained(
      drawn.batch!.map((t) => t.id),
      3,
    );
    expect(buffer.fresh().map((t) => t.id)).toEqual(['steady-0', 'steady-1', 'steady-2', 'steady-3']);
  });

  it('samples high reward-variance groups first', async () => {
    const buffer = await ReplayBuffer.inRuntimeDir(await testDir('replay-priority'));
    // "flaky": the same task passed and failed across rollouts; the "steady" ones always agree.
    for (const [i, r] of [1, 0, 1, 0].entries())
      await buffer.add(scored(`flaky-${i}`, r, { group: 'flaky' }));
    for (let g = 0; g < 8; g++)
      for (let i = 0; i < 2; i++) await buffer.add(scored(`steady-${g}-${i}`, 1, { group: `steady-${g}` }));
    const variance = buffer.groupVariance();
    expect(variance.get('flaky')).toBeCloseTo(0.25);
    expect(variance.get('steady-0')).toBe(0);

    // Within a fresh batch of one version, the high-variance group comes first.
    const batch = buffer.drawBatch({ batchSize: 4, currentVersion: 0, maxStaleness: 1 }).batch!;
    expect(batch.map((t) => t.group)).toEqual(['flaky', 'flaky', 'flaky', 'flaky']);

    // Sampling: 4 flaky among 20 entries, yet they fill most of each draw of 4.
    const random = seededRandom(42);
    let flaky = 0;
    const draws = 200;
    for (let i = 0; i < draws; i++)
      flaky += buffer.sample(4, random).filter((t) => t.group === 'flaky').length;
    expect(flaky / (draws * 4)).toBeGreaterThan(0.6); // uniform sampling would give 0.2
    expect(new Set(buffer.sample(20, random).map((t) => t.id)).size).toBe(20); // without replacement
  });
});
