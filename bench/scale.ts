/**
 * `npm run bench -- scale [--tasks N] [--samples N] [--store file|postgres] [--loops 1,2,4] [--json]
 * [--no-build]`: dispatcher
 * processes sharing one store, the Beads file and PostgreSQL (a server started here on the same
 * cores, fsync and synchronous_commit on). Each dispatcher is a real loop in a process of its own
 * over 4 local hosts × 16 slots, handlers in-process. Per store:
 *
 * - loops_1, loops_2, loops_4: no-op tasks per second with 1, 2 and 4 dispatchers, N tasks added
 *   at once by another process, until the last succeeded. N is `--tasks`, else 20,000 on
 *   PostgreSQL (the spike ran 20,000: a dispatcher's first few hundred tasks run before V8
 *   has compiled its hot paths, and 2,000 shared by four measures mostly that) and 2,000 on the
 *   file (a Beads file of 20,000 issues is past what one file serves well: 174 tasks/s, one loop);
 * - pickup_p50_ms, pickup_p99_ms: one task added by another process until its handler starts,
 *   on 2 idle dispatchers (`--samples`, default 50);
 * - failover_kill_ms: a dispatcher running four long tasks is killed (SIGKILL): until all four
 *   run on the other;
 * - failover_vanish_ms: the same with SIGSTOP (a machine gone: no session closed, no lock
 *   released): expect the lease (15 s here) and about a second.
 *
 * On PostgreSQL each throughput figure has a baseline measured just before it on the same server:
 * the spike design in plain SQL (scale-parts/spike.ts), as `baseline_loops_N`, and ygg's
 * figure as a share of it, `ratio_loops_N` (ratios hold on a machine whose speed drifts).
 *
 * `--loops 4` (or `2,4`, ...) measures only those throughput figures: a quick A/B of one change.
 * The dispatchers run compiled, as `ygg loop` does: the bench builds them into dist-bench/ first
 * (`--no-build` skips it).
 */
import { benchDispatcherProject, buildCli } from './lib/build-cli.js';
import { table } from './lib/table.js';
import { type BenchStore, fileStore, postgresStore, type StoreKind } from './scale-parts/stores.js';
import { failover, pickup, throughput } from './scale-parts/workloads.js';

const leaseS = 15;
/** Tasks a throughput run, per store, without `--tasks`: see the top of this file. */
const defaultTasks: Record<StoreKind, number> = { file: 2000, postgres: 20000 };

interface Figures {
  tasks: number;
  loops_1: number;
  loops_2: number;
  loops_4: number;
  baseline_loops_1: number;
  baseline_loops_2: number;
  baseline_loops_4: number;
  ratio_loops_1: number;
  ratio_loops_2: number;
  ratio_loops_4: number;
  pickup_p50_ms: number;
  pickup_p99_ms: number;
  failover_kill_ms: number;
  failover_vanish_ms: number;
}

const labels: Array<[keyof Figures, string]> = [
  ['tasks', 'no-op tasks a throughput run'],
  ['loops_1', 'no-op tasks/s, 1 dispatcher'],
  ['loops_2', 'no-op tasks/s, 2 dispatchers'],
  ['loops_4', 'no-op tasks/s, 4 dispatchers'],
  ['baseline_loops_1', 'baseline (spike SQL), 1 worker'],
  ['baseline_loops_2', 'baseline (spike SQL), 2 workers'],
  ['baseline_loops_4', 'baseline (spike SQL), 4 workers'],
  ['ratio_loops_1', 'ygg / baseline, 1'],
  ['ratio_loops_2', 'ygg / baseline, 2'],
  ['ratio_loops_4', 'ygg / baseline, 4'],
  ['pickup_p50_ms', 'pickup p50 ms'],
  ['pickup_p99_ms', 'pickup p99 ms'],
  ['failover_kill_ms', 'failover after kill -9, ms'],
  ['failover_vanish_ms', `failover after SIGSTOP, ms (lease ${leaseS} s)`],
];

function numberArg(args: string[], name: string, fallback: number): number {
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at === -1) return fallback;
  const raw = args[at]?.includes('=') ? args[at]?.split('=')[1] : args[at + 1];
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a whole number of at least 1, not ${raw}`);
  return value;
}

function storesArg(args: string[]): StoreKind[] {
  const at = args.findIndex((a) => a === '--store' || a.startsWith('--store='));
  if (at === -1) return ['file', 'postgres'];
  const raw = args[at]?.includes('=') ? args[at]?.split('=')[1] : args[at + 1];
  if (raw !== 'file' && raw !== 'postgres') throw new Error(`--store must be file or postgres, not ${raw}`);
  return [raw];
}

function loopsArg(args: string[]): Array<1 | 2 | 4> | undefined {
  const at = args.findIndex((a) => a === '--loops' || a.startsWith('--loops='));
  if (at === -1) return undefined;
  const raw = (args[at]?.includes('=') ? args[at]?.split('=')[1] : args[at + 1]) ?? '';
  const counts = raw.split(',').map(Number);
  if (counts.length === 0 || counts.some((n) => n !== 1 && n !== 2 && n !== 4))
    throw new Error(`--loops takes 1, 2 or 4, comma-separated, not ${raw}`);
  return counts as Array<1 | 2 | 4>;
}

async function measure(
  store: BenchStore,
  tasks: number,
  samples: number,
  only: Array<1 | 2 | 4> | undefined,
): Promise<Partial<Figures>> {
  const say = (what: string) => process.stderr.write(`scale: ${store.kind}, ${what}\n`);
  const figures: Partial<Figures> = {};
  for (const loops of only ?? ([1, 2, 4] as const)) {
    if (store.baseline) {
      say(`${tasks} no-op tasks on the baseline's ${loops} worker(s)`);
      figures[`baseline_loops_${loops}`] = Math.round(await store.baseline(loops, tasks));
    }
    say(`${tasks} no-op tasks on ${loops} dispatcher(s)`);
    const ours = Math.round(await throughput(store, loops, tasks));
    figures[`loops_${loops}`] = ours;
    const base = figures[`baseline_loops_${loops}`];
    if (base) figures[`ratio_loops_${loops}`] = Number((ours / base).toFixed(2));
  }
  if (only) return figures;
  say(`pickup, ${samples} samples on 2 dispatchers`);
  const { p50, p99 } = await pickup(store, 2, samples);
  figures.pickup_p50_ms = p50;
  figures.pickup_p99_ms = p99;
  say('failover after kill -9');
  figures.failover_kill_ms = await failover(store, 'SIGKILL');
  say('failover after SIGSTOP');
  figures.failover_vanish_ms = await failover(store, 'SIGSTOP');
  return figures;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  if (!args.includes('--no-build')) buildCli(benchDispatcherProject);
  const given = args.some((a) => a === '--tasks' || a.startsWith('--tasks='));
  const tasksOf = (kind: StoreKind) => (given ? numberArg(args, 'tasks', 1) : defaultTasks[kind]);
  const samples = numberArg(args, 'samples', 50);
  const only = loopsArg(args);
  const results: Partial<Record<StoreKind, Partial<Figures>>> = {};
  for (const kind of storesArg(args)) {
    await using store = kind === 'file' ? await fileStore(leaseS) : await postgresStore(leaseS);
    results[kind] = { tasks: tasksOf(kind), ...(await measure(store, tasksOf(kind), samples, only)) };
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ samples, lease_s: leaseS, ...results })}\n`);
    return;
  }
  const kinds = Object.keys(results) as StoreKind[];
  process.stdout.write('scale: 4 hosts × 16 slots, dispatchers in processes of their own\n\n');
  process.stdout.write(
    table(
      ['figure', ...kinds],
      labels
        .filter(([key]) => kinds.some((kind) => results[kind]?.[key] !== undefined))
        .map(([key, label]) => [label, ...kinds.map((kind) => results[kind]?.[key] ?? '-')]),
    ),
  );
}
