/**
 * CLI start-up and bulk submission, as a user runs them: `ygg --version`, `ygg add TITLE` and
 * `ygg add --from FILE` with 10,000 JSON Lines tasks (a fresh store each time), each a new
 * process, against `node -e 0` in the same rounds (the floor every Node program pays). Rounds are
 * interleaved so that a busy moment of the machine touches every figure alike; medians are
 * reported. The CLI runs from dist/, built first (skip with --no-build).
 *
 * Besides wall time, each process reports the CPU time it used (a preloaded probe, also in
 * `node -e 0`): on a machine shared with other work, CPU time shows what start-up costs when wall
 * time mostly shows the wait for a core.
 *
 * `ygg add` is measured twice: on a store no loop runs on (it appends to the Beads file and hands
 * the 250 ms watch for stale writers to a detached guard process: `add_guarded_ms` is from the
 * command's start until that guard is done, waited for before the next figure so that it does
 * not weigh on it), and beside a running `ygg loop` (it hands the task to that loop's journal:
 * `add_beside_loop_ms`).
 *
 * Options: --json, --rounds=N (default 7), --tasks=N (default 10000), --no-build.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli } from './lib/build-cli.js';
import { table } from './lib/table.js';
import { percentile } from './lib/workspace.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const yggBin = join(root, 'bin', 'ygg.js');

const cpuProbe = join(root, 'bench', 'lib', 'cpu-at-exit.cjs');

interface Timing {
  wallMs: number;
  /** CPU time the process used (user + system), reported by the preloaded probe. */
  cpuMs: number;
}

/** Wall and CPU time of one process from spawn to exit; throws with its stderr when it fails. */
function timed(args: readonly string[], cwd: string): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-r', cpuProbe, ...args], {
      cwd,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let cpu = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (d: string) => {
      cpu += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      if (code === 0) resolve({ wallMs, cpuMs: Number(cpu) });
      else reject(new Error(`node ${args.join(' ')} exited ${code}:\n${stderr}`));
    });
  });
}

async function workspace(parent: string, name: string): Promise<{ dir: string; store: string }> {
  const dir = join(parent, name);
  await mkdir(join(dir, '.beads'), { recursive: true });
  const store = join(dir, '.beads', 'issues.jsonl');
  await writeFile(store, '');
  // A hosts.yaml beside .beads/, as a real setup has: add reads it for the queue limits.
  await writeFile(join(dir, 'hosts.yaml'), 'hosts:\n  bench:\n    transport: local\n    slots: 8\n');
  return { dir, store };
}

/** Until the stale-writer guards of the workspace's adds are done (their input files gone). */
async function guardsDone(dir: string): Promise<void> {
  const folder = join(dir, '.ygg', 'guards');
  const deadline = Date.now() + 30_000;
  while ((await readdir(folder).catch(() => [])).length > 0) {
    if (Date.now() > deadline) throw new Error(`a stale-writer guard did not finish: ${folder}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A `ygg loop` on the workspace, resolved once its record says it runs; kill it when done. */
async function startLoop(dir: string): Promise<ReturnType<typeof spawn>> {
  const loop = spawn(process.execPath, [yggBin, 'loop', '--no-status', '--log-level', 'warn'], {
    cwd: dir,
    stdio: 'ignore',
    env: { ...process.env, YGG_DISCOVER_MODELS: 'off' },
  });
  const records = join(dir, '.ygg', 'loops');
  const deadline = Date.now() + 30_000;
  while (!(await readdir(records).catch(() => [])).some((name) => name.endsWith('.json'))) {
    if (Date.now() > deadline || loop.exitCode !== null)
      throw new Error('the loop for the bench did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return loop;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 7);
  const tasks = Number(args.find((a) => a.startsWith('--tasks='))?.slice(8) ?? 10_000);
  if (!args.includes('--no-build')) buildCli();
  const parent = await mkdtemp(join(tmpdir(), 'ygg-bench-cli-'));
  let loop: ReturnType<typeof spawn> | undefined;
  try {
    const single = await workspace(parent, 'single');
    const bulk = await workspace(parent, 'bulk');
    const beside = await workspace(parent, 'beside');
    loop = await startLoop(beside.dir);
    const input = join(parent, 'tasks.jsonl');
    const lines = Array.from({ length: tasks }, (_, i) =>
      JSON.stringify({ title: `bulk task ${i + 1}`, priority: i % 5 }),
    );
    await writeFile(input, `${lines.join('\n')}\n`);

    const samples = {
      node: [] as Timing[],
      version: [] as Timing[],
      add: [] as Timing[],
      guarded: [] as number[],
      beside: [] as Timing[],
      bulk: [] as Timing[],
    };
    // Round 0 warms the file cache and is not counted.
    for (let round = 0; round <= rounds; round += 1) {
      const node = await timed(['-e', '0'], single.dir);
      const version = await timed([yggBin, '--version'], single.dir);
      const addStart = performance.now();
      const add = await timed([yggBin, 'add', `bench add ${round}`], single.dir);
      await guardsDone(single.dir);
      const guarded = performance.now() - addStart;
      const besideLoop = await timed([yggBin, 'add', `bench add ${round}`, '--', 'true'], beside.dir);
      await writeFile(bulk.store, '');
      const many = await timed([yggBin, 'add', '--from', input, '--label', 'bench'], bulk.dir);
      if (round === 0) continue;
      samples.node.push(node);
      samples.version.push(version);
      samples.add.push(add);
      samples.guarded.push(guarded);
      samples.beside.push(besideLoop);
      samples.bulk.push(many);
    }
    const median = (values: Timing[], key: keyof Timing = 'wallMs') =>
      Number(
        percentile(
          values.map((t) => t[key]),
          50,
        ).toFixed(1),
      );
    const result = {
      rounds,
      tasks,
      node_ms: median(samples.node),
      version_ms: median(samples.version),
      add_ms: median(samples.add),
      add_guarded_ms: Number(percentile(samples.guarded, 50).toFixed(1)),
      add_beside_loop_ms: median(samples.beside),
      bulk_10k_ms: median(samples.bulk),
      node_cpu_ms: median(samples.node, 'cpuMs'),
      version_cpu_ms: median(samples.version, 'cpuMs'),
      add_cpu_ms: median(samples.add, 'cpuMs'),
      add_beside_loop_cpu_ms: median(samples.beside, 'cpuMs'),
      bulk_10k_cpu_ms: median(samples.bulk, 'cpuMs'),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const row = (what: string, values: Timing[], goal: string) => {
      const wall = median(values);
      const cpu = median(values, 'cpuMs');
      const base = what === 'node -e 0';
      const walls = values.map((t) => t.wallMs);
      return [
        what,
        wall,
        Math.min(...walls),
        Math.max(...walls),
        base ? '' : (wall - result.node_ms).toFixed(1),
        cpu,
        base ? '' : (cpu - result.node_cpu_ms).toFixed(1),
        goal,
      ];
    };
    process.stdout.write(
      table(
        ['command', 'median ms', 'min ms', 'max ms', 'above node ms', 'cpu ms', 'cpu above node', 'goal'],
        [
          row('node -e 0', samples.node, ''),
          row('ygg --version', samples.version, '<= 60 above node'),
          row('ygg add TITLE', samples.add, '<= 150 above node'),
          row('ygg add beside a loop', samples.beside, '<= 150 above node'),
          row(`ygg add --from (${tasks} tasks)`, samples.bulk, tasks === 10_000 ? '<= 2000' : ''),
        ],
      ),
    );
    process.stdout.write(
      `ygg add on a store no loop runs on, until its stale-writer guard is done: ${result.add_guarded_ms} ms (median)\n`,
    );
    process.stdout.write(`${rounds} interleaved rounds (one warm-up round not counted)\n`);
  } finally {
    loop?.kill('SIGKILL');
    await rm(parent, { recursive: true, force: true });
  }
}
