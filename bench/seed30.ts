/**
 * The Python dispatcher's 30-task benchmark through the real loop and store, in four modes:
 * legacy (one task per type), async (each type on its own host), spill (every host eligible,
 * own host first) and spill-makespan (the same, longest expected first to the soonest host).
 *
 * Lower bounds, in units of simulated model time:
 * - legacy: each type runs one task at a time: max(10x30, 10x20, 10x40) = 400.
 * - async: each type is confined to its host: max(ceil(10/2)x30, ceil(10/3)x20, ceil(10/2)x40) = 200.
 * - spill: any host takes any task: total work / total slots = 900 / 7 ≈ 128.6 (no task is longer).
 */
import { fileURLToPath } from 'node:url';
import { runDemo } from '../src/cli/demo.js';
import { table } from './lib/table.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const unitMs = 10;

const modes = [
  { mode: 'legacy', config: `${root}hosts.yaml`, legacy: true, bound: 400, target: 1.05 * 400 },
  { mode: 'async', config: `${root}hosts.yaml`, legacy: false, bound: 200, target: 1.05 * 200 },
  {
    mode: 'spill',
    config: `${root}examples/hosts.spill.yaml`,
    legacy: false,
    bound: 900 / 7,
    target: 1.2 * (900 / 7),
  },
  {
    mode: 'spill-makespan',
    config: `${root}examples/hosts.spill.yaml`,
    legacy: false,
    order: 'makespan' as const,
    bound: 900 / 7,
    target: 1.1 * (900 / 7),
  },
];

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const results = [];
  for (const m of modes) {
    const summary = await runDemo({
      config: m.config,
      unitMs,
      legacy: m.legacy,
      ...(m.order ? { order: m.order } : {}),
    });
    const utilisation = Object.fromEntries(
      summary.hosts.map((h) => [h.name, Number(h.utilisation.toFixed(3))]),
    );
    results.push({
      mode: m.mode,
      makespan_units: Number(summary.makespanUnits.toFixed(1)),
      lower_bound_units: Number(m.bound.toFixed(1)),
      ratio_to_bound: Number((summary.makespanUnits / m.bound).toFixed(3)),
      target_units: Number(m.target.toFixed(1)),
      met: summary.makespanUnits <= m.target,
      closed: summary.closed,
      utilisation,
    });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ unit_ms: unitMs, modes: results })}\n`);
    return;
  }
  process.stdout.write(`seed30: 30 tasks, 1 unit = ${unitMs} ms of simulated model time\n\n`);
  process.stdout.write(
    table(
      ['mode', 'makespan', 'bound', 'x bound', 'target', 'met', 'closed', 'utilisation'],
      results.map((r) => [
        r.mode,
        r.makespan_units,
        r.lower_bound_units,
        r.ratio_to_bound,
        r.target_units,
        r.met ? 'yes' : 'NO',
        r.closed,
        Object.entries(r.utilisation)
          .map(([h, u]) => `${h} ${(u * 100).toFixed(0)}%`)
          .join(', '),
      ]),
    ),
  );
}
