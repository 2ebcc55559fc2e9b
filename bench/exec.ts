/**
 * What it costs to run `true` on the local host: a bare `child_process.spawn('true')` awaited
 * to its exit (the baseline, measured in the same run), the local transport with the sandbox off
 * (`sandbox.enabled: false`, as a host in hosts.yaml turns it off; the shell handler's request),
 * and the same with bubblewrap on. The three are interleaved in each round, so a busy moment of
 * the machine touches every figure alike; medians are reported.
 *
 * Options: --json, --runs N (default 50).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults } from '../src/config/defaults.js';
import type { SandboxSettings } from '../src/config/types.js';
import { LocalTransport } from '../src/hosts/local.js';
import { localSandboxCapabilities, localSandboxWrap } from '../src/hosts/sandbox-local.js';
import { sandboxRequestFor } from '../src/hosts/task-limits.js';
import type { Transport } from '../src/hosts/transport.js';
import { table } from './lib/table.js';
import { percentile } from './lib/workspace.js';

/** A bare spawn of `true`, awaited until its pipes close (as the transport awaits them). */
function bareTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`true exited ${code}`))));
  });
}

/** `true` through a local transport, asked for the sandbox as the shell handler asks for it. */
function transportTrue(transport: Transport, settings: SandboxSettings): () => Promise<void> {
  const sandbox = sandboxRequestFor(settings, undefined, true, {});
  return async () => {
    // An attempt's time left bounds every command (ctx.exec), so the bench passes one too.
    const result = await transport.exec(['true'], { sandbox, timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`true exited ${result.code}: ${result.stderr}`);
  };
}

async function timed(once: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await once();
  return performance.now() - started;
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(`--${name}`);
  if (at >= 0) return args[at + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const runs = Number(option(args, 'runs') ?? 50);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs: expected a positive integer, not ${runs}`);
  const workRoot = await mkdtemp(join(tmpdir(), 'ygg-bench-exec-'));
  try {
    const base: SandboxSettings = { ...configDefaults.sandbox, workRoot };
    const off: SandboxSettings = { ...base, enabled: false };
    const on: SandboxSettings = { ...base, enabled: true };
    const caps = await localSandboxCapabilities(base.runAs ?? 'nobody');
    const cases = {
      bare: bareTrue,
      nosandbox: transportTrue(new LocalTransport('bench-off', localSandboxWrap(off)), off),
      sandbox: transportTrue(new LocalTransport('bench-on', localSandboxWrap(on)), on),
    };
    const samples: Record<keyof typeof cases, number[]> = { bare: [], nosandbox: [], sandbox: [] };
    // Round 0 warms the file cache and the capability probe and is not counted.
    for (let round = 0; round <= runs; round += 1) {
      for (const [name, once] of Object.entries(cases) as Array<[keyof typeof cases, () => Promise<void>]>) {
        const ms = await timed(once);
        if (round > 0) samples[name].push(ms);
      }
    }
    const median = (values: number[]) => Number(percentile(values, 50).toFixed(2));
    const bare = median(samples.bare);
    const nosandbox = median(samples.nosandbox);
    const sandbox = median(samples.sandbox);
    const result = {
      runs,
      bare_ms: bare,
      nosandbox_ms: nosandbox,
      sandbox_ms: sandbox,
      nosandbox_ratio: Number((nosandbox / bare).toFixed(2)),
      sandbox_above_bare_ms: Number((sandbox - bare).toFixed(2)),
      bwrap: caps.bwrap,
      cgroup: caps.cgroup?.kind ?? 'none',
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const row = (what: string, values: number[], goal: string) => {
      const m = median(values);
      return [
        what,
        m,
        Math.min(...values),
        percentile(values, 90),
        what === 'bare spawn' ? '' : (m / bare).toFixed(2),
        what === 'bare spawn' ? '' : (m - bare).toFixed(2),
        goal,
      ];
    };
    process.stdout.write(
      table(
        ['true, run by', 'median ms', 'min ms', 'p90 ms', 'x bare', 'above bare ms', 'goal'],
        [
          row('bare spawn', samples.bare, ''),
          row('transport, sandbox off', samples.nosandbox, '<= 1.5 x bare'),
          row('transport, sandboxed', samples.sandbox, '<= bare + 15 ms'),
        ],
      ),
    );
    process.stdout.write(
      `${runs} interleaved rounds (one warm-up not counted); bubblewrap ${caps.bwrap}, cgroup ${result.cgroup}, ${caps.loginUid === 0 ? 'root' : `uid ${caps.loginUid}`}\n`,
    );
  } finally {
    await rm(workRoot, { recursive: true, force: true });
  }
}
