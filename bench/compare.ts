/**
 * `npm run bench -- compare [--base REF | --before REF] [--benches a,b] [--rounds N] [--json]`:
 * runs benchmarks on this checkout ("new") and on another commit ("base"), interleaved round by
 * round so that a machine whose load drifts weighs on both alike, and prints each figure's median
 * per side and the ratio new/base.
 *
 * The base is checked out as a detached git worktree in a temp folder (removed at the end), with
 * this checkout's node_modules linked in, and built like this one. Each bench runs as
 * `node --import tsx bench/run.ts NAME --json --no-build` in its own checkout (both are built
 * once, before the rounds; a bench that builds nothing ignores the flag): every number in its JSON is a
 * figure (arrays of objects are keyed by their `mode` or `name`); figures equal everywhere (inputs
 * such as the task count) are left out.
 *
 * --base REF     the commit to compare against (default HEAD: what the working tree changed)
 * --before REF   the commit before REF (REF~1), e.g. the commit before a change landed
 * --benches LIST comma-separated (default seed30,latency,throughput)
 * --rounds N     interleaved rounds (default 3)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { benchDispatcherProject } from './lib/build-cli.js';
import { table } from './lib/table.js';

const run$ = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

interface Options {
  base: string;
  benches: string[];
  rounds: number;
  json: boolean;
}

export interface ComparedFigure {
  key: string;
  base: number;
  new: number;
  /** new / base (null when the base median is 0). */
  ratio: number | null;
}

function parseArgs(args: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    if (i === -1) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  const before = value('--before');
  const base = value('--base') ?? (before ? `${before}~1` : 'HEAD');
  const rounds = Number(value('--rounds') ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error('--rounds must be a whole number of at least 1');
  const benches = (value('--benches') ?? 'seed30,latency,throughput').split(',').filter(Boolean);
  if (benches.includes('compare')) throw new Error('compare cannot compare itself');
  return { base, benches, rounds, json: args.includes('--json') };
}

async function git(args: string[], cwd = root): Promise<string> {
  const { stdout } = await run$('git', args, { cwd, maxBuffer: 16 << 20 });
  return stdout.trim();
}

/** The base commit in a temp worktree with this checkout's node_modules, built; removed by dispose. */
async function checkoutBase(ref: string): Promise<{ dir: string; commit: string } & AsyncDisposable> {
  const commit = await git(['rev-parse', '--verify', `${ref}^{commit}`]);
  const parent = await mkdtemp(join(tmpdir(), 'ygg-bench-base-'));
  const dir = join(parent, 'checkout');
  await git(['worktree', 'add', '--detach', dir, commit]);
  const dispose = async () => {
    await git(['worktree', 'remove', '--force', dir]).catch(() => undefined);
    await rm(parent, { recursive: true, force: true });
    await git(['worktree', 'prune']).catch(() => undefined);
  };
  try {
    await symlink(await realpath(join(root, 'node_modules')), join(dir, 'node_modules'), 'dir');
    await build(dir);
  } catch (error) {
    await dispose();
    throw error;
  }
  return { dir, commit, [Symbol.asyncDispose]: dispose };
}

/**
 * dist/ for benches that start `bin/ygg.js`, and dist-bench/ for the scale bench's dispatchers.
 * Type errors do not stop tsc's output.
 */
async function build(dir: string): Promise<void> {
  // The scale bench's compiled dispatcher too, where the checkout has one.
  const projects = ['tsconfig.build.json', benchDispatcherProject].filter((p) => existsSync(join(dir, p)));
  for (const project of projects) {
    await run$(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: dir,
    }).catch((error: { stdout?: string }) => {
      process.stderr.write(
        `compare: tsc reported problems in ${dir} (its output is still used):\n${error.stdout ?? ''}\n`,
      );
    });
  }
}

/** One bench's figures in one checkout: every number of its JSON, by path. */
async function runBench(dir: string, name: string): Promise<Map<string, number>> {
  const args = ['--import', 'tsx', 'bench/run.ts', name, '--json', '--no-build'];
  const { stdout } = await run$(process.execPath, args, {
    cwd: dir,
    maxBuffer: 64 << 20,
    timeout: 30 * 60_000,
  });
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`bench ${name} in ${dir} printed no JSON on its last line:\n${stdout.slice(-2000)}`);
  }
  const figures = new Map<string, number>();
  flatten(parsed, name, figures);
  return figures;
}

/** Numbers under `prefix`; array items are named by their `mode` or `name` where they have one. */
export function flatten(value: unknown, prefix: string, into: Map<string, number>): void {
  if (typeof value === 'number' && Number.isFinite(value)) {
    into.set(prefix, value);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const label =
        item && typeof item === 'object' && !Array.isArray(item)
          ? ((item as Record<string, unknown>).mode ?? (item as Record<string, unknown>).name ?? i)
          : i;
      flatten(item, `${prefix}.${String(label)}`, into);
    });
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) flatten(item, `${prefix}.${key}`, into);
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Medians per key and side, leaving out figures that never vary (inputs, not measurements). */
export function compareSamples(samples: {
  base: Map<string, number[]>;
  new: Map<string, number[]>;
}): ComparedFigure[] {
  const figures: ComparedFigure[] = [];
  for (const [key, baseValues] of samples.base) {
    const newValues = samples.new.get(key);
    if (!newValues?.length) continue;
    const all = [...baseValues, ...newValues];
    if (all.every((v) => v === all[0])) continue;
    const b = median(baseValues);
    const n = median(newValues);
    figures.push({ key, base: b, new: n, ratio: b === 0 ? null : Number((n / b).toFixed(3)) });
  }
  return figures;
}

export async function run(args: string[]): Promise<void> {
  const options = parseArgs(args);
  const head = await git(['rev-parse', '--short', 'HEAD']);
  const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])) !== '';
  await using base = await checkoutBase(options.base);
  await build(root);
  const sides = [
    { side: 'new' as const, dir: root },
    { side: 'base' as const, dir: base.dir },
  ];
  const samples = { base: new Map<string, number[]>(), new: new Map<string, number[]>() };
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const name of options.benches) {
      // Alternate which side goes first, so neither always runs on a machine warmed by the other.
      const order = round % 2 === 1 ? sides : [...sides].reverse();
      for (const { side, dir } of order) {
        process.stderr.write(`compare: round ${round}/${options.rounds}, ${name} on ${side}\n`);
        for (const [key, value] of await runBench(dir, name)) {
          const list = samples[side].get(key) ?? [];
          list.push(value);
          samples[side].set(key, list);
        }
      }
    }
  }
  const figures = compareSamples(samples);
  const newLabel = `${head}${dirty ? '+changes' : ''}`;
  const baseLabel = base.commit.slice(0, 7);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ base: base.commit, new: newLabel, rounds: options.rounds, benches: options.benches, figures })}\n`,
    );
    return;
  }
  process.stdout.write(
    `compare: ${options.rounds} interleaved rounds of ${options.benches.join(', ')}; medians; new ${newLabel} vs base ${baseLabel}\n\n`,
  );
  process.stdout.write(
    table(
      ['figure', `base ${baseLabel}`, `new ${newLabel}`, 'new/base'],
      figures.map((f) => [f.key, f.base, f.new, f.ratio === null ? '-' : f.ratio]),
    ),
  );
}
