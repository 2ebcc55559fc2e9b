/**
 * seed30 through `ygg loop` as a user runs it: the 30 tasks written to a fresh store, then
 * `ygg loop --until-idle` (the built CLI) on a hosts.yaml, its makespan read from its log: the
 * first `task:started` to the last `task:succeeded` (the in-process run counts from the first
 * claim to the last handler's end, a millisecond or two apart from these).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { seed30Tasks } from '../../src/dispatch/workloads.js';
import { openStore } from '../../src/store/open.js';
import { repoRoot } from './build-cli.js';

export interface CliRun {
  makespanMs: number;
  closed: number;
}

export async function seed30ThroughCli(options: {
  config: string;
  unitMs: number;
  order?: 'fifo' | 'makespan';
  legacy?: boolean;
}): Promise<CliRun> {
  const dir = await mkdtemp(join(tmpdir(), 'ygg-bench-seed30-'));
  try {
    await mkdir(join(dir, '.beads'));
    const storePath = join(dir, '.beads', 'issues.jsonl');
    await writeFile(storePath, '');
    const store = await openStore({ path: storePath });
    await Promise.all(seed30Tasks(options.unitMs).map((task) => store.add(task)));
    await store.close();
    let config = await readFile(options.config, 'utf8');
    if (options.order) config = config.replace(/^( {2}order:) \w+$/m, `$1 ${options.order}`);
    await writeFile(join(dir, 'hosts.yaml'), config);
    const args = ['loop', '--until-idle', '--no-status', '--log-level', 'info'];
    if (options.legacy) args.push('--legacy');
    const loop = spawn(process.execPath, [join(repoRoot, 'bin', 'ygg.js'), ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    loop.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    let first = Number.POSITIVE_INFINITY;
    let last = 0;
    let closed = 0;
    for await (const line of createInterface({ input: loop.stdout! })) {
      let entry: { event?: string; time?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      const at = entry.time ? Date.parse(entry.time) : Number.NaN;
      if (entry.event === 'task:started') first = Math.min(first, at);
      if (entry.event === 'task:succeeded') {
        last = Math.max(last, at);
        closed += 1;
      }
    }
    const code = await new Promise<number | null>((resolve) => {
      if (loop.exitCode !== null) resolve(loop.exitCode);
      else loop.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`ygg loop exited with ${code}: ${stderr}`);
    return { makespanMs: last - first, closed };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
