import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostDiagnosis } from '../../src/cli/doctor.js';
import { runYgg } from '../helpers/cli.js';
import { pathWithoutNvidiaSmi } from '../helpers/no-nvidia-smi.js';
import { workspace } from '../helpers/running-loop.js';

const day = 86_400_000;
const KiB = 1024;

const hostsYaml = `
hosts:
  solo: { transport: local }
retention:
  artifacts: {max_bytes: 10K, max_age: 30d}
`;

/** An attempt's artifacts of `bytes` bytes, last written `daysAgo` days ago. */
async function attempt(runtimeDir: string, task: string, bytes: number, daysAgo: number): Promise<string> {
  const dir = join(runtimeDir, 'artifacts', task, '1');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'output.txt'), Buffer.alloc(bytes, 'x'));
  const at = new Date(Date.now() - daysAgo * day);
  for (const path of [join(dir, 'output.txt'), dir]) await utimes(path, at, at);
  return dir;
}

describe('retention while ygg loop runs, and in ygg doctor', () => {
  it('doctor warns past a limit; the loop removes the oldest; doctor then shows the use within limits', async () => {
    const ws = await workspace('retention-cli', hostsYaml);
    const runtimeDir = join(ws.dir, '.ygg');
    // Past the age limit: 40 days. Then 4 KiB attempts 5, 4, 3 and 2 days old: 16 KiB of 10.
    const expired = await attempt(runtimeDir, 'bd-expired', 4 * KiB, 40);
    const dirs = [];
    for (const [i, daysAgo] of [5, 4, 3, 2].entries())
      dirs.push(await attempt(runtimeDir, `bd-${i}`, 4 * KiB, daysAgo));
    await writeFile(join(runtimeDir, 'counters.json'), '{}');
    const env = { PATH: pathWithoutNvidiaSmi() };

    const before = await runYgg(['doctor', '--json'], { cwd: ws.dir, env });
    const beforeStep = (JSON.parse(before.stdout) as HostDiagnosis[]).find((r) => r.host === '.ygg')!
      .steps[0]!;
    expect(beforeStep).toMatchObject({
      step: 'disk use',
      status: 'warn',
      detail: expect.stringContaining('artifacts 20.0 KiB of 10.0 KiB (5 items, oldest 40d'),
      fix: expect.stringContaining('Past the limits: artifacts (3 oldest, 12.0 KiB).'),
    });
    expect(beforeStep.detail).toContain('trajectories 0 B of 1.0 GiB (0 items; max age 90d)');
    expect(beforeStep.detail).toContain('logs 0 B of 256.0 MiB');
    // State: counters.json, and what doctor saw of the model endpoints (models.json, for ygg add).
    const seenBytes = statSync(join(runtimeDir, 'models.json')).size;
    expect(beforeStep.detail).toContain(`other state ${2 + seenBytes} B (never removed)`);

    const loop = await runYgg(['loop', '--until-idle', '--no-status'], { cwd: ws.dir, env });
    expect(loop.code).toBe(0);
    // The expired one, then the oldest until 10 KiB holds: 8 KiB in two attempts is kept.
    expect([expired, ...dirs].map((d) => existsSync(d))).toEqual([false, false, false, true, true]);
    expect((await readdir(join(runtimeDir, 'artifacts'))).sort()).toEqual(['bd-2', 'bd-3']);
    const logged = loop.stdout
      .split('\n')
      .filter((l) => l.includes('retention'))
      .map((l) => JSON.parse(l) as { msg: string; removed: number });
    expect(logged).toEqual([
      expect.objectContaining({
        removed: 3,
        msg: 'retention: removed the 3 oldest artifacts items (12.0 KiB); 8.0 KiB of 10.0 KiB kept',
      }),
    ]);

    const after = await runYgg(['doctor'], { cwd: ws.dir, env });
    expect(after.stdout).toContain('.ygg: ok\n  ok   disk use: ');
    expect(after.stdout).toContain('artifacts 8.0 KiB of 10.0 KiB (2 items, oldest 3d');
    // Naming a host checks that host alone.
    const one = await runYgg(['doctor', 'solo', '--json'], { cwd: ws.dir, env });
    expect((JSON.parse(one.stdout) as HostDiagnosis[]).map((r) => r.host)).toEqual(['solo']);
    // State is never removed.
    expect(existsSync(join(runtimeDir, 'counters.json'))).toBe(true);
  });
});
