import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDefaults } from '../../src/config/defaults.js';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';
import { parseDuration } from '../../src/config/units.js';
import type { SweepReport } from '../../src/observe/retention/sweep.js';
import { startRetention } from '../../src/observe/retention/sweeper.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

const day = 86_400_000;

describe('retention in hosts.yaml', () => {
  it('defaults to limits that fit a small disk', () => {
    const { config, errors } = parseConfig('hosts:\n  solo: {}\n', 'hosts.yaml');
    expect(errors).toEqual([]);
    expect(config!.retention).toEqual({
      intervalMs: 600_000,
      artifacts: { maxBytes: 2 ** 30, maxAgeMs: 30 * day },
      trajectories: { maxBytes: 2 ** 30, maxAgeMs: 90 * day },
      logs: { maxBytes: 256 * 2 ** 20, maxAgeMs: 30 * day },
    });
    expect(config!.retention).toEqual(configDefaults.retention);
  });

  it('reads sizes and durations as the rest of the file does, days included', () => {
    expect(parseDuration('30d')).toBe(30 * day);
    const { config, errors } = parseConfig(
      [
        'hosts:',
        '  solo: {}',
        'retention:',
        '  interval: 90s',
        '  artifacts: {max_bytes: 20M, max_age: 7d}',
        '  logs: {max_age: 12h}',
      ].join('\n'),
      'hosts.yaml',
    );
    expect(errors).toEqual([]);
    expect(config!.retention).toEqual({
      intervalMs: 90_000,
      artifacts: { maxBytes: 20 * 2 ** 20, maxAgeMs: 7 * day },
      trajectories: configDefaults.retention.trajectories,
      logs: { maxBytes: configDefaults.retention.logs.maxBytes, maxAgeMs: 12 * 3_600_000 },
    });
  });

  it('names the key and line of a bad value', () => {
    const { errors } = parseConfig(
      ['hosts:', '  solo: {}', 'retention:', '  artifacts: {max_bytes: lots}', '  logs: {keep: 3}'].join(
        '\n',
      ),
      'hosts.yaml',
    );
    expect(errors.map((e) => formatProblem(e))).toEqual([
      expect.stringMatching(/^hosts\.yaml:4: retention\.artifacts\.max_bytes: expected a size like 512M/),
      expect.stringMatching(/^hosts\.yaml:5: retention\.logs.*keep/),
    ]);
  });
});

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
