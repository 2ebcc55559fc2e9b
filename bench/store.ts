/**
 * `npm run bench -- store [--json] [--sizes 1000,10000]`: the Beads store at 1k, 10k and 100k
 * issues (shaped like the v0.47.2 fixture). For each: load time and peak RSS of the store's
 * process, and updates per second for claim+close of 1,000 tasks with up to 256 in flight,
 * against the rewrite-the-whole-file-per-update baseline measured in its own process.
 *
 * Then, on a fresh store of the largest size, a real `ygg loop` process (the built CLI; built
 * first unless --no-build) runs `--loop-tasks N` tasks (default 1000): its peak RSS (VmHWM) is
 * `loop_rss_mb_<size>` (`loop_rss_mb_100k`), the median of its RSS sampled while it ran beside
 * it. --no-loop skips it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from './lib/build-cli.js';
import { generateBeadsFile } from './store-parts/generate.js';
import { type LoopRss, measureLoopRss } from './store-parts/loop-rss.js';

interface SizeResult {
  issues: number;
  file_mb: number;
  load_ms: number;
  rss_mb: number;
  ygg_per_s: number;
  rewrite_per_s: number;
  ratio: number;
}

const part = (name: string) => fileURLToPath(new URL(`./store-parts/${name}`, import.meta.url));

/**
 * Bundles a part to plain JavaScript first, so the measured process is node and the store alone
 * (a TypeScript loader in the process would add ~40 MB of RSS that is not the store's).
 */
async function bundlePart(script: string, dir: string): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(dir, script.replace(/\.ts$/, '.mjs'));
  await build({
    entryPoints: [part(script)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    packages: 'external',
    logLevel: 'error',
  });
  return outfile;
}

function runPart(script: string, args: string[]): Record<string, number> {
  const out = execFileSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, number>;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** `1k`, `10k`, `100k`, else the number itself. */
const sizeLabel = (n: number) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const loopTasksAt = args.indexOf('--loop-tasks');
  const loopTasks = loopTasksAt >= 0 ? Number(args[loopTasksAt + 1]) : 1000;
  const sizesAt = args.indexOf('--sizes');
  const sizes = sizesAt >= 0 ? (args[sizesAt + 1] ?? '').split(',').map(Number) : [1_000, 10_000, 100_000];
  const results: SizeResult[] = [];
  // Inside node_modules so the bundle still resolves the store's dependencies.
  const cache = fileURLToPath(new URL('../node_modules/.cache/', import.meta.url));
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, 'ygg-bench-store-'));
  const yggWorker = await bundlePart('ygg-worker.ts', work);
  const rewriteWorker = await bundlePart('rewrite-worker.ts', work);
  for (const issues of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'ygg-bench-store-'));
    try {
      const file = join(dir, 'issues.jsonl');
      await generateBeadsFile(file, issues);
      const fileMb = statSync(file).size / 1048576;
      const ygg = runPart(yggWorker, [file, '1000']);
      const samples = issues >= 100_000 ? 3 : issues >= 10_000 ? 10 : 30;
      const baseline = runPart(rewriteWorker, [file, String(samples)]);
      const yggRate = ygg.ygg_per_s as number;
      const rewriteRate = baseline.rewrite_per_s as number;
      results.push({
        issues,
        file_mb: Number(fileMb.toFixed(1)),
        load_ms: ygg.load_ms as number,
        rss_mb: ygg.rss_mb as number,
        ygg_per_s: yggRate,
        rewrite_per_s: rewriteRate,
        ratio: Number((yggRate / rewriteRate).toFixed(1)),
      });
      if (!json) process.stderr.write(`done ${issues}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  rmSync(work, { recursive: true, force: true });
  let loop: (LoopRss & { issues: number }) | undefined;
  if (!args.includes('--no-loop')) {
    if (!args.includes('--no-build')) buildCli();
    const issues = Math.max(...sizes);
    const dir = mkdtempSync(join(tmpdir(), 'ygg-bench-store-loop-'));
    try {
      loop = {
        issues,
        ...(await measureLoopRss(join(root, 'bin', 'ygg.js'), dir, issues, { tasks: loopTasks })),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const loopKeys = loop
    ? {
        [`loop_rss_mb_${sizeLabel(loop.issues)}`]: loop.peak_mb,
        [`loop_rss_median_mb_${sizeLabel(loop.issues)}`]: loop.median_mb,
        loop_tasks: loop.tasks,
        loop_ms_to_tasks: loop.ms_to_tasks,
      }
    : {};
  if (json) {
    process.stdout.write(`${JSON.stringify({ sizes: results, ...loopKeys })}\n`);
    return;
  }
  process.stdout.write('issues   file MB  load ms  RSS MB  ygg updates/s  rewrite updates/s  ratio\n');
  for (const r of results) {
    process.stdout.write(
      `${String(r.issues).padEnd(9)}${String(r.file_mb).padEnd(9)}${String(r.load_ms).padEnd(9)}${String(r.rss_mb).padEnd(8)}${String(r.ygg_per_s).padEnd(15)}${String(r.rewrite_per_s).padEnd(19)}${r.ratio}x\n`,
    );
  }
  process.stdout.write(
    'updates: each claim or close is one update; targets at 100k: ratio >= 200x, RSS <= 300 MB\n',
  );
  if (loop) {
    process.stdout.write(
      `ygg loop on ${loop.issues} issues, ${loop.tasks} tasks run (${loop.ms_to_tasks} ms): peak RSS ${loop.peak_mb} MB, median ${loop.median_mb} MB (target at 100k: <= 300 MB)\n`,
    );
  }
}
