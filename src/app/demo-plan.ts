/**
 * What `ygg demo` is about to run, decided before it runs: the hosts.yaml, the mode it gives
 * (legacy, async or spill), the queue order, and the lower bounds its makespan is judged by.
 */
import { typeConfigFor } from '../config/type-rules.js';
import type { YggConfig } from '../config/types.js';
import { seed30Shape } from '../dispatch/workloads.js';
import { simulateLegacyDispatcher } from '../schedule/legacy-dispatcher.js';
import { type LowerBound, makespanLowerBound } from '../schedule/lower-bound.js';
import { openConfig } from './config.js';

/**
 * legacy: one running task per type, as the Python dispatcher first did; async: each type on
 * its own host, several at once; spill: a type may also run on other hosts.
 */
export type DemoMode = 'legacy' | 'async' | 'spill';
export type DemoOrder = 'fifo' | 'makespan';
export const demoOrders: readonly DemoOrder[] = ['fifo', 'makespan'];

export interface DemoPlan {
  config: YggConfig;
  configPath: string;
  /** The mode this hosts.yaml gives without `--legacy`. */
  concurrentMode: Exclude<DemoMode, 'legacy'>;
  order: DemoOrder;
  /** Where the order came from. */
  orderFrom: 'option' | 'hosts file';
  /** The bound for `concurrentMode` and for legacy, in units of simulated model time. */
  bound: LowerBound;
  legacyBound: LowerBound;
  /** The Python dispatcher's legacy mode, simulated on seed30 and this hosts.yaml (what the verdict compares with). */
  legacySimulated: LowerBound;
}

/** Loads hosts.yaml as the demo's runs will (discovered from `cwd`, the demo's own folder). */
export async function planDemo(options: {
  config?: string;
  order?: DemoOrder;
  cwd: string;
}): Promise<DemoPlan> {
  const { config, path } = await openConfig({
    cwd: options.cwd,
    ...(options.config ? { config: options.config } : {}),
  });
  return {
    config,
    configPath: path,
    concurrentMode: concurrentModeOf(config),
    order: options.order ?? config.queue.order,
    orderFrom: options.order ? 'option' : 'hosts file',
    bound: seed30Bound(config, false),
    legacyBound: seed30Bound(config, true),
    legacySimulated: seed30Legacy(config),
  };
}

/** spill when a seed30 type may run on more than one host, else async. */
export function concurrentModeOf(config: YggConfig): Exclude<DemoMode, 'legacy'> {
  return seed30Shape.some((s) => typeConfigFor(config, s.type).hosts.length > 1) ? 'spill' : 'async';
}

/** The bound on seed30's makespan from its work and the eligibility this hosts.yaml gives. */
export function seed30Bound(config: YggConfig, legacy: boolean): LowerBound {
  const tasks = seed30Tasks();
  const eligible = Object.fromEntries(seed30Shape.map((s) => [s.type, typeConfigFor(config, s.type).hosts]));
  const slots = Object.fromEntries(config.hosts.map((h) => [h.name, h.slots]));
  return makespanLowerBound(tasks, eligible, slots, legacy);
}

/** The Python benchmark's clock: 1 unit = 1 s, its poll every 2 s. */
const legacyPollUnits = 2;

/**
 * seed30 through the Python dispatcher's legacy mode, simulated (src/schedule/legacy-dispatcher.ts),
 * in units of simulated model time: its poll scaled with the work, as on its own benchmark.
 */
export function seed30Legacy(config: YggConfig): LowerBound {
  const tasks = seed30Tasks();
  const sim = simulateLegacyDispatcher(
    tasks.map((t) => ({ type: t.type, ms: t.units })),
    {
      hostsOf: (type) => typeConfigFor(config, type).hosts,
      slots: Object.fromEntries(config.hosts.map((h) => [h.name, h.slots])),
      pollMs: legacyPollUnits,
      onePerType: true,
    },
  );
  const units = sim.unrun.length > 0 ? Number.POSITIVE_INFINITY : sim.makespanMs;
  return {
    units,
    reason: `the Python dispatcher simulated: one task of a type at a time on the type's first host, new work only at its poll every ${legacyPollUnits} units`,
  };
}

/** seed30's tasks in the order the demo adds them (interleaved, all of one priority). */
function seed30Tasks(): Array<{ type: string; units: number }> {
  return Array.from({ length: 10 }, () => seed30Shape.map((s) => ({ type: s.type, units: s.units }))).flat();
}
