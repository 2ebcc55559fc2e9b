/**
 * The memory of a real `ygg loop` process (bin/ygg.js, the built CLI) on a large store while it
 * runs: a workspace with the generated Beads file and one local host whose `general` tasks run
 * the `simulate` handler (no model needed). Its RSS is sampled from /proc every 250 ms; once the
 * loop has finished `tasks` tasks, its peak RSS (VmHWM) is read, then it is stopped.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generateBeadsFile } from './generate.js';

export interface LoopRss {
  /** Peak resident memory of the loop process so far (VmHWM), in MB. */
  peak_mb: number;
  /** Median of the resident memory sampled while it ran (VmRSS), in MB. */
  median_mb: number;
  /** Milliseconds from the start of the process to the `tasks`th finished task. */
  ms_to_tasks: number;
  tasks: number;
}

const kbOf = (status: string, key: string) =>
  Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1]);

/** Runs `ygg loop` on a fresh store of `issues` issues in `dir` and measures it. */
export async function measureLoopRss(
  yggBin: string,
  dir: string,
  issues: number,
  options: { tasks?: number; timeoutMs?: number; nodeArgs?: string[] } = {},
): Promise<LoopRss> {
  const tasks = options.tasks ?? 200;
  await mkdir(join(dir, '.beads'), { recursive: true });
  await generateBeadsFile(join(dir, '.beads', 'issues.jsonl'), issues);
  await writeFile(
    join(dir, 'hosts.yaml'),
    'hosts:\n  bench:\n    transport: local\n    slots: 8\ntypes:\n  general:\n    hosts: [bench]\n    handler: simulate\n',
  );
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), yggBin, 'loop', '--no-status', '--log-level', 'info'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const samples: number[] = [];
  const sampler = setInterval(() => {
    try {
      samples.push(kbOf(status(), 'VmRSS'));
    } catch {
      // it has just exited
    }
  }, 250);
  try {
    let done = 0;
    const reached = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the loop finished ${done} of ${tasks} tasks in time:\n${stderr}`)),
        options.timeoutMs ?? 300_000,
      );
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the loop exited ${code} after ${done} tasks:\n${stderr}`));
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.includes('"task:succeeded"')) return;
        done += 1;
        if (done === tasks) {
          clearTimeout(timer);
          resolve(performance.now() - started);
        }
      });
    });
    const ms = await reached;
    const peak = kbOf(status(), 'VmHWM');
    const sorted = samples.sort((a, b) => a - b);
    return {
      peak_mb: Math.round(peak / 1024),
      median_mb: Math.round((sorted[Math.floor(sorted.length / 2)] ?? Number.NaN) / 1024),
      ms_to_tasks: Math.round(ms),
      tasks,
    };
  } finally {
    clearInterval(sampler);
    child.kill('SIGTERM');
    const slow = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(slow);
  }
}
