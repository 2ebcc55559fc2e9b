import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SweepReport } from '../../src/observe/retention/sweep.js';
import { startRetention } from '../../src/observe/retention/sweeper.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const day = 86_400_000;

describe('the retention sweeper', () => {
  it('sweeps at start and then every interval, reading the settings again each time; a throwing listener stops nothing', async () => {
    const runtimeDir = join(await testDir('retention-sweeper'), '.ygg');
    const logs = join(runtimeDir, 'logs');
    await mkdir(logs, { recursive: true });
    const now = Date.parse('2026-06-01T12:00:00Z');
    for (const [i, name] of ['a.log', 'b.log', 'c.log'].entries()) {
      await writeFile(join(logs, name), 'line\n');
      const at = new Date(now - (10 - i) * day);
      await utimes(join(logs, name), at, at);
    }
    // First 9.5 days of age allowed (a.log goes), then 8.5 (b.log goes); c.log is the newest.
    let maxAgeMs = 9.5 * day;
    const reports: SweepReport[] = [];
    const roomy = { maxBytes: 2 ** 30, maxAgeMs: 1000 * day };
    const sweeper = startRetention({
      runtimeDir,
      settings: () => ({
        intervalMs: 5,
        artifacts: roomy,
        trajectories: roomy,
        logs: { maxBytes: 2 ** 30, maxAgeMs },
      }),
      now: () => now,
      onSwept: (report) => {
        reports.push(report);
        if (reports.length === 1) maxAgeMs = 8.5 * day;
        if (reports.length === 3) throw new Error('a listener that throws');
      },
    });
    await waitUntil(() => reports.length >= 4, { what: 'four sweeps' });
    await sweeper.close();
    const removed = reports.flatMap((r) => r.kinds.find((k) => k.kind === 'logs')!.removed);
    expect(removed.map((p) => p.split('/').at(-1))).toEqual(['a.log', 'b.log']);
    expect(await readdir(logs)).toEqual(['c.log']);
  });

  it('stops removing when closed past its finishing time, leaving the rest to the next loop', async () => {
    const runtimeDir = join(await testDir('retention-sweeper-close'), '.ygg');
    const logs = join(runtimeDir, 'logs');
    await mkdir(logs, { recursive: true });
    const old = new Date(Date.now() - 100 * day);
    for (let i = 0; i < 50; i++) {
      await writeFile(join(logs, `${i}.log`), 'line\n');
      await utimes(join(logs, `${i}.log`), old, old);
    }
    const reports: SweepReport[] = [];
    const roomy = { maxBytes: 2 ** 30, maxAgeMs: 1000 * day };
    const sweeper = startRetention({
      runtimeDir,
      settings: () => ({
        intervalMs: 60_000,
        artifacts: roomy,
        trajectories: roomy,
        logs: { maxBytes: 1, maxAgeMs: day },
      }),
      onSwept: (report) => reports.push(report),
    });
    // Closed with no time to finish while its first sweep is still listing: it removes nothing,
    // and close waits for it to end.
    await sweeper.close({ finishMs: 0 });
    expect(reports).toHaveLength(1);
    expect(reports[0]!.kinds.find((k) => k.kind === 'logs')!.removed).toEqual([]);
    expect(await readdir(logs)).toHaveLength(50);
  });

  it('reports a failed sweep and keeps sweeping', async () => {
    const dir = await testDir('retention-sweeper-errors');
    // A file where .ygg/ should be: every sweep fails.
    const runtimeDir = join(dir, '.ygg');
    await writeFile(runtimeDir, 'not a folder');
    const errors: unknown[] = [];
    const roomy = { maxBytes: 2 ** 30, maxAgeMs: 1000 * day };
    const sweeper = startRetention({
      runtimeDir,
      settings: () => ({ intervalMs: 5, artifacts: roomy, trajectories: roomy, logs: roomy }),
      onError: (error) => errors.push(error),
    });
    await waitUntil(() => errors.length >= 2, { what: 'two failed sweeps' });
    await sweeper.close();
    expect(String(errors[0])).toMatch(/ENOTDIR/);
  });
});
