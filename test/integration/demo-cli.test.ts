import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectOutput, repoRoot, runYgg, yggBin } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';
import { startUnresponsivePort } from '../helpers/unresponsive-port.js';
import { waitUntil } from '../helpers/wait.js';

/** A folder for the demo's temporary folders (TMPDIR), so a test sees what it leaves behind. */
async function demoEnv(name: string): Promise<{ cwd: string; tmp: string; env: Record<string, string> }> {
  const cwd = await testDir(name);
  const tmp = await testDir(`${name}-tmp`);
  return { cwd, tmp, env: { TMPDIR: tmp } };
}

/** The rows of the terminal timeline: `lane |bars|`. */
function timelineRows(stdout: string): Array<{ lane: string; bar: string }> {
  return [...stdout.matchAll(/^(\S+\/\d+) +\|(.*)\|$/gm)].map((m) => ({ lane: m[1]!, bar: m[2]! }));
}

/** Task starts drawn in the rows (each task's bar begins with its kind's letter). */
const starts = (rows: Array<{ bar: string }>) =>
  rows.map((r) => r.bar.replace(/[^a-z]/g, '')).join('').length;

/** Parses the SVG with Python's XML parser (a real, strict one) and counts task rects per panel. */
function svgTaskRects(file: string): number[] {
  const script = `
import json, sys, xml.etree.ElementTree as ET
ns = '{http://www.w3.org/2000/svg}'
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + 'svg', root.tag
panels = [g for g in root.iter(ns + 'g') if g.get('class') == 'panel']
print(json.dumps([sum(1 for r in p.iter(ns + 'rect') if r.get('class') == 'task') for p in panels]))
`;
  const result = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`not well-formed SVG: ${result.stderr}`);
  return JSON.parse(result.stdout) as number[];
}

describe('ygg demo refuses options it does not implement', () => {
  it.each([
    [['--order', 'lifo'], /lifo.*fifo, makespan/],
    [['--unit-ms', 'abc'], /'abc' is invalid.*milliseconds from 1/],
    [['--unit-ms', '-5'], /'-5' is invalid/],
    [['--unit-ms', '0'], /'0' is invalid/],
    [['--legacy', '--compare'], /--compare already runs the legacy dispatcher/],
    [['--svg', 'no/such/folder/t.svg'], /--svg .*does not exist/],
    [['--svg', '.'], /--svg \. is a folder/],
    [['--dir', join(repoRoot, 'package.json')], /--dir .*package\.json is not a folder/],
  ])('%j: exit 2, one ygg: line and a hint, nothing run', async (args, message) => {
    const { cwd, tmp, env } = await demoEnv('demo-refuse');
    const result = await runYgg(['demo', ...args], { cwd, env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ygg: /);
    expect(lines[0]).toMatch(message);
    expect(lines.slice(1).join('\n')).toMatch(/^ {2}\S/);
    expect(result.stderr).not.toContain('NaN');
    expect(await readdir(tmp)).toEqual([]);
  });
});

describe('ygg demo runs, judges and draws', () => {
  it('names its mode, prints the bound and a verdict against legacy, draws each slot, writes an SVG and removes its folder', async () => {
    const { cwd, tmp, env } = await demoEnv('demo-async');
    const svg = join(cwd, 'run.svg');
    const result = await runYgg(['demo', '--unit-ms', '3', '--svg', svg], { cwd, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^mode +async: each type on its own host/m);
    expect(out).toMatch(/^order +fifo \(from the hosts file\)$/m);
    expect(out).toContain('1 unit = 3 ms');
    expect(out).toMatch(/^hosts +\S*hosts\.yaml: surtr-reasoning 2, fenrir-chat 3, skadi-code 2 slots$/m);
    expect(out).toMatch(/^store +\S+ \(temporary: removed at the end\)$/m);

    // seed30 on the shipped hosts: async's bound is 200 units (0.60 s); the Python dispatcher's
    // legacy mode, simulated, takes 400 (1.20 s). The verdict is a ratio of a real run to an
    // overhead-free simulation: on a loaded machine with 3 ms units it can come out "as fast".
    const verdict =
      /^async: makespan (\d+\.\d\d) s, bound 0\.60 s \((\d+\.\d\d)x the bound\); legacy 1\.20 s \(simulated\): (\d+\.\d)x (?:faster|as fast)$/m.exec(
        out,
      );
    expect(verdict, out).not.toBeNull();
    const [makespan, ratio, faster] = verdict!.slice(1).map(Number) as [number, number, number];
    expect(ratio).toBeGreaterThanOrEqual(1);
    expect(ratio).toBeCloseTo(makespan / 0.6, 1);
    expect(faster).toBeCloseTo(1.2 / makespan, 0);
    expect(out).toMatch(/^async bound +200 units: reasoning: work 400 over the 2 slots of surtr-reasoning$/m);
    expect(out).toMatch(
      /^legacy sim +400 units: the Python dispatcher simulated: one task of a type at a time/m,
    );
    expect(out).toContain('30 of 30 tasks closed, 0 dead letters');
    expect(out).not.toContain('NaN');

    // One row per slot, fitted to 100 columns, every task drawn once, no colour (not a TTY).
    const rows = timelineRows(out);
    expect(rows.map((r) => r.lane)).toEqual([
      'surtr-reasoning/0',
      'surtr-reasoning/1',
      'fenrir-chat/0',
      'fenrir-chat/1',
      'fenrir-chat/2',
      'skadi-code/0',
      'skadi-code/1',
    ]);
    expect(starts(rows)).toBe(30);
    // The first reasoning task starts at once on slot 0: its bar opens the row, give or take the
    // few columns (about 8 ms each) that a loaded machine adds between the first starts.
    expect(rows.find((r) => r.lane === 'surtr-reasoning/0')!.bar).toMatch(/^ {0,3}r=+/);
    for (const row of rows) expect(`${row.lane.padEnd(18)}|${row.bar}|`).toHaveLength(100);
    expect(out).not.toContain('\u001b[');

    expect(svgTaskRects(svg)).toEqual([30]);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('runs in its own store even when YGG_STORE names a real queue, which it leaves untouched', async () => {
    const { cwd, tmp, env } = await demoEnv('demo-own-store');
    const queue = join(cwd, 'queue.jsonl');
    await writeFile(queue, '');
    const result = await runYgg(['demo', '--unit-ms', '2'], { cwd, env: { ...env, YGG_STORE: queue } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('30 of 30 tasks closed');
    expect(await readFile(queue, 'utf8')).toBe('');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('--legacy names the legacy mode, its bound of 400 units, and what async could do', async () => {
    const { cwd, tmp, env } = await demoEnv('demo-legacy');
    const result = await runYgg(['demo', '--legacy', '--unit-ms', '2'], { cwd, env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^mode +legacy: one running task per type/m);
    expect(result.stdout).toMatch(/^legacy: makespan \d+\.\d\d s, bound 0\.80 s \(\d+\.\d\dx the bound\)$/m);
    expect(result.stdout).toMatch(
      /^verdict: this is the legacy dispatcher; async needs at least 0\.40 s here/m,
    );
    expect(starts(timelineRows(result.stdout))).toBe(30);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('--order makespan on the spill hosts: the header and the JSON say spill and makespan, with its bound', async () => {
    const { cwd, env } = await demoEnv('demo-spill');
    const config = join(repoRoot, 'examples', 'hosts.spill.yaml');
    const text = await runYgg(['demo', '--config', config, '--order', 'makespan', '--unit-ms', '2'], {
      cwd,
      env,
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^mode +spill: a type may also run on other hosts/m);
    expect(text.stdout).toMatch(/^order +makespan \(--order\)$/m);

    const json = await runYgg(
      ['demo', '--config', config, '--order', 'makespan', '--unit-ms', '2', '--json'],
      {
        cwd,
        env,
      },
    );
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout) as {
      mode: string;
      order: string;
      closed: number;
      bound: { units: number; ratio: number };
      legacy: { ms: number; measured: boolean; faster: number };
      timeline: { items: unknown[] };
    };
    expect(summary).toMatchObject({ mode: 'spill', order: 'makespan', closed: 30 });
    expect(summary.bound.units).toBeCloseTo(900 / 7, 1);
    expect(summary.bound.ratio).toBeGreaterThanOrEqual(1);
    expect(summary.legacy).toMatchObject({ ms: 800, measured: false });
    expect(summary.timeline.items).toHaveLength(30);
  });

  it('--compare runs legacy and async on the same workload: two timelines on one scale, two SVG panels', async () => {
    const { cwd, tmp, env } = await demoEnv('demo-compare');
    const svg = join(cwd, 'compare.svg');
    const result = await runYgg(['demo', '--compare', '--unit-ms', '2', '--svg', svg], { cwd, env });
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^mode +legacy: .*\n +async: /m);
    const legacy = /^legacy: makespan (\d+\.\d\d) s/m.exec(out);
    const async =
      /^async: +makespan (\d+\.\d\d) s, .*; legacy (\d+\.\d\d) s: (\d+\.\d)x (?:faster|as fast)$/m.exec(out);
    expect(legacy, out).not.toBeNull();
    expect(async, out).not.toBeNull();
    expect(async![2]).toBe(legacy![1]);
    // Two panels, each with a row per slot and every task, over one time axis.
    expect(out).toMatch(/^legacy: \d+\.\d\d s$/m);
    expect(out).toMatch(/^async: \d+\.\d\d s$/m);
    const rows = timelineRows(out);
    expect(rows).toHaveLength(14);
    expect(starts(rows.slice(0, 7))).toBe(30);
    expect(starts(rows.slice(7))).toBe(30);
    const axes = out.split('\n').filter((l) => /^\s+0 s\s/.test(l));
    expect(axes).toHaveLength(2);
    expect(axes[0]).toBe(axes[1]);
    expect(svgTaskRects(svg)).toEqual([30, 30]);
    expect(await readdir(tmp)).toEqual([]);
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

describe.skipIf(!hasScript)('ygg demo on a terminal (util-linux script gives it one)', () => {
  it('colours the timeline, fitted to the terminal width; NO_COLOR turns the colour off', async () => {
    const { cwd, tmp } = await demoEnv('demo-tty');
    const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const command = `stty cols 90; ${quote(process.execPath)} ${quote(yggBin)} demo --unit-ms 2`;
    const onTerminal = (extra: Record<string, string>) => {
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, ...extra };
      if (!('NO_COLOR' in extra)) delete env.NO_COLOR;
      const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd, env, encoding: 'utf8' });
      expect(result.status).toBe(0);
      return result.stdout.replace(/\r/g, '');
    };
    const coloured = onTerminal({});
    const row = coloured.split('\n').find((l) => l.startsWith('surtr-reasoning/0 '))!;
    expect(row).toContain('\u001b[');
    expect(row.replace(/\u001b\[\d+m/g, '')).toHaveLength(90);
    expect(onTerminal({ NO_COLOR: '1' })).not.toContain('\u001b[');
    expect(await readdir(tmp)).toEqual([]);
  });
});

describe('ygg demo on hosts that do not answer', () => {
  it('examples/hosts.ssh.yaml: names each unreachable host and exits 1, within seconds, leaving nothing', async () => {
    const { cwd, tmp, env } = await demoEnv('demo-ssh');
    const started = Date.now();
    const result = await runYgg(
      ['demo', '--config', join(repoRoot, 'examples', 'hosts.ssh.yaml'), '--unit-ms', '2'],
      { cwd, env: { ...env, HOME: cwd } },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ygg: 3 of 3 hosts cannot be reached, so the demo did not run: /);
    for (const host of ['surtr (192.168.1.10:22', 'fenrir (192.168.1.11:22', 'skadi (192.168.1.12:2222'])
      expect(result.stderr).toContain(host);
    expect(result.stdout).not.toMatch(/^running|makespan \d/m);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('a host whose port takes the connection and never answers: unreachable after the probe bound', async () => {
    const { cwd, tmp, env } = await demoEnv('demo-silent');
    await using silent = await startUnresponsivePort();
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    await writeFile(join(cwd, 'key'), privateKey, { mode: 0o600 });
    await writeFile(join(cwd, 'known_hosts'), '');
    const config = join(cwd, 'hosts.yaml');
    await writeFile(
      config,
      `hosts:
  ghost:
    transport: ssh
    address: 127.0.0.1
    port: ${silent.port}
    user: ygg
    key: ./key
    known_hosts: ./known_hosts
    slots: 2
  here:
    slots: 2
`,
    );
    const started = Date.now();
    const result = await runYgg(['demo', '--config', config, '--unit-ms', '2'], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^ygg: 1 of 2 hosts cannot be reached, so the demo did not run: ghost \\(127\\.0\\.0\\.1:${silent.port}: no answer within 5 s\\)`,
      ),
    );
    expect(result.stdout).not.toMatch(/^running|makespan \d/m);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await readdir(tmp)).toEqual([]);
  });
});

describe('ygg demo interrupted', () => {
  it('SIGINT while it runs: stops, removes its temporary folder, exits 130', async () => {
    const { cwd, tmp, env } = await demoEnv('demo-sigint');
    // 200 ms per unit: the run takes about 40 s, so the signal comes while tasks run.
    const child = spawn(process.execPath, [yggBin, 'demo', '--unit-ms', '200'], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collectOutput(child);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const store = await waitUntil(() => /^store +(\S+) \(temporary/m.exec(output.stdout())?.[1], {
      what: 'the header',
    });
    // The signal comes once a task runs: the store holds the tasks, one of them claimed.
    const issues = join(store, '.beads', 'issues.jsonl');
    await waitUntil(async () => (await readFile(issues, 'utf8').catch(() => '')).includes('"in_progress"'), {
      what: 'a task to run',
    });
    expect(await readdir(tmp)).toEqual([store.slice(tmp.length + 1)]);

    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(output.stderr()).toMatch(/^ygg: SIGINT: demo stopped; its temporary folder was removed$/m);
    expect(await readdir(tmp)).toEqual([]);
  });
});
