import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CGROUP_SETUP,
  cgroupDirs,
  cgroupTeardownArgv,
  parseCgroupEvidence,
} from '../../src/hosts/sandbox-cgroup.js';
import { testDir } from '../helpers/tmp.js';

/**
 * This machine has cgroup v1; the v2 steps are run against a folder laid out like a v2 cgroup
 * (plain files), so their file names and values are checked by a real shell.
 */
describe('the cgroup v2 steps of the wrapper and the teardown', () => {
  it('writes pids.max, memory.max, cpu.max and joins through cgroup.procs', async () => {
    const base = join(await testDir('cgroup-v2'), 'ygg');
    const dirs = cgroupDirs({ kind: 'v2', base, controllers: ['memory', 'cpu'] }, 'run-1');
    const script = `${CGROUP_SETUP}\nygg_cgroup "$@"; echo "joined $$"`;
    const out = execFileSync(
      'sh',
      [
        '-c',
        script,
        'test',
        'v2',
        dirs.pids,
        dirs.memory,
        dirs.cpu,
        dirs.cpuacct,
        '32',
        '1048576',
        '25000',
        '',
        '',
      ],
      { encoding: 'utf8' },
    );
    const pid = out.match(/^joined (\d+)$/m)?.[1];
    const read = (name: string) => readFile(join(dirs.pids, name), 'utf8');
    expect(await read('pids.max')).toBe('32\n');
    expect(await read('memory.max')).toBe('1048576\n');
    expect(await read('memory.swap.max')).toBe('0\n');
    expect(await read('cpu.max')).toBe('25000 100000\n');
    // Without swap accounting there is no swap file to write: the setup goes on.
    const noSwap = join(base, 'run-noswap');
    await mkdir(join(noSwap, 'memory.swap.max'), { recursive: true });
    const again = execFileSync(
      'sh',
      ['-c', script, 'test', 'v2', noSwap, noSwap, '', '', '8', '4096', '', '', ''],
      { encoding: 'utf8' },
    );
    expect(again).toMatch(/^joined \d+$/m);
    // One folder for every controller: the shell joins it once.
    expect(await read('cgroup.procs')).toBe(`${pid}\n`);
  });

  it('reports refused forks, OOM kills and CPU time from the v2 files', async () => {
    const base = join(await testDir('cgroup-v2-end'), 'ygg');
    const dirs = cgroupDirs({ kind: 'v2', base, controllers: ['memory'] }, 'run-2');
    await mkdir(dirs.pids, { recursive: true });
    await writeFile(join(dirs.pids, 'cgroup.procs'), '');
    await writeFile(join(dirs.pids, 'pids.events'), 'max 7\n');
    await writeFile(join(dirs.pids, 'memory.events'), 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n');
    await writeFile(join(dirs.pids, 'cpu.stat'), 'usage_usec 2500000\nuser_usec 2000000\n');
    const [command, ...args] = cgroupTeardownArgv(dirs, undefined) as [string, ...string[]];
    const out = execFileSync(command, args, { encoding: 'utf8' });
    expect(parseCgroupEvidence(out)).toEqual({ pidsMaxHits: 7, oomKills: 1, cpuNs: 2_500_000_000 });
  });
});
