import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/cli/add-task.js';
import { configDefaults } from '../../src/config/defaults.js';
import { repoRoot, runYgg, yggBin } from '../helpers/cli.js';
import { workspace } from '../helpers/running-loop.js';
import { testDir } from '../helpers/tmp.js';

const unitPath = join(repoRoot, 'examples', 'ygg-loop.service');
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

type Unit = Map<string, Map<string, string[]>>;

/** A systemd unit file: sections of keys, each key's values in order; `#`/`;` comments, `\` continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const pair = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!pair || !section)
      throw new Error(`line ${i + 1} is neither a section, a key=value nor a comment: ${raw}`);
    section.set(pair[1]!, [...(section.get(pair[1]!) ?? []), pair[2]!]);
  }
  return unit;
}

/** A systemd time span: `90`, `60s`, `1min 30s`, `2m`. */
function timeSpanMs(value: string): number {
  const units: Record<string, number> = {
    '': 1000,
    s: 1000,
    sec: 1000,
    m: 60_000,
    min: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  for (const part of value.trim().split(/\s+/)) {
    const match = /^(\d+)([a-z]*)$/.exec(part);
    if (!match || units[match[2]!] === undefined) throw new Error(`not a time span: ${value}`);
    total += Number(match[1]) * units[match[2]!]!;
  }
  return total;
}

const known: Record<string, string[]> = {
  Unit: ['Description', 'StartLimitIntervalSec'],
  Service: [
    'Type',
    'WorkingDirectory',
    'EnvironmentFile',
    'ExecStart',
    'ExecReload',
    'Restart',
    'RestartSec',
    'KillSignal',
    'KillMode',
    'TimeoutStopSec',
    'SuccessExitStatus',
  ],
  Install: ['WantedBy'],
};

describe('the example systemd unit', () => {
  it('runs the installed ygg loop, restarts on failure and stops with SIGTERM within the grace period', async () => {
    const unit = parseUnit(await readFile(unitPath, 'utf8'));
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    for (const [name, keys] of unit)
      expect([...keys.keys()].filter((k) => !known[name]!.includes(k))).toEqual([]);
    const service = unit.get('Service')!;
    const one = (key: string) => {
      expect(service.get(key), key).toHaveLength(1);
      return service.get(key)![0]!;
    };

    // ExecStart: an absolute path to the installed `ygg`, running `loop`.
    const [bin, command, ...flags] = one('ExecStart').split(/\s+/);
    expect(bin).toMatch(/^\/.*\/ygg$/);
    expect(command).toBe('loop');
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    // SIGTERM to ygg alone: tasks it runs are not killed under it during the grace period.
    expect(one('KillMode')).toBe('mixed');
    // systemd waits longer than ygg lets running tasks finish: its own --grace, and the default.
    const graceFlag = flags.indexOf('--grace');
    const graceMs =
      graceFlag >= 0 ? parseDuration(flags[graceFlag + 1]!) : configDefaults.queue.shutdownGraceMs;
    const stopMs = timeSpanMs(one('TimeoutStopSec'));
    expect(stopMs).toBeGreaterThan(graceMs);
    expect(stopMs).toBeGreaterThan(configDefaults.queue.shutdownGraceMs);
    // A stop that cut running tasks short exits 128 + SIGTERM (15): not a failure to restart from.
    expect(one('SuccessExitStatus').split(/\s+/)).toContain('143');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');

    // The flags are ones `ygg loop` takes: the same argv runs on an empty store and exits 0.
    const ws = await workspace('service-unit');
    const run = await runYgg(['loop', ...flags, '--until-idle', '--no-status'], { cwd: ws.dir });
    expect(run.stderr).toContain('ygg: loop idle');
    expect(run.code).toBe(0);
  });

  it.skipIf(!hasSystemdAnalyze)(
    'passes systemd-analyze verify as a user unit, with ExecStart on this build of ygg',
    async () => {
      const dir = await testDir('service-unit-verify');
      const runtime = join(dir, 'xdg');
      await mkdir(runtime, { mode: 0o700 });
      // The same unit, run by this checkout's ygg instead of an installed one (verify checks the file exists).
      const text = (await readFile(unitPath, 'utf8')).replace(/^ExecStart=\S+/m, `ExecStart=${yggBin}`);
      const copy = join(dir, 'ygg-loop.service');
      await writeFile(copy, text);
      const verify = spawnSync('systemd-analyze', ['verify', '--user', copy], {
        encoding: 'utf8',
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      });
      // Unknown keys and bad values are warnings on stderr with exit 0: both must be silent.
      expect(`${verify.stdout}${verify.stderr}`).toBe('');
      expect(verify.status).toBe(0);
    },
  );
});
