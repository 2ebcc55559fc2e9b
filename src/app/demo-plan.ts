/**
 * What `ygg demo` is about to run, decided before it runs: the hosts.yaml, the mode it gives
 * (legacy, async or spill), the queue order, and the lower bounds its makespan is judged by.
 */
import { typeConfigFor } from '../config/type-rules.js';
import type { YggConfig } from '../config/types.js';
import { seed30Shape } from '../dispatch/workloads.js';
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
  };
}

/** spill when a seed30 type may run on more than one host, else async. */
export function concurrentModeOf(config: YggConfig): Exclude<DemoMode, 'legacy'> {
  return seed30Shape.some((s) => typeConfigFor(config, s.type).hosts.length > 1) ? 'spill' : 'async';
}

/** The bound on seed30's makespan from its work and the eligibility this hosts.yaml gives. */
export function seed30Bound(config: YggConfig, legacy: boolean): LowerBound {
  const tasks = seed30Shape.flatMap((shape) =>
    Array.from({ length: 10 }, () => ({ type: shape.type, units: shape.units })),
  );
  const eligible = Object.fromEntries(seed30Shape.map((s) => [s.type, typeConfigFor(config, s.type).hosts]));
  const slots = Object.fromEntries(config.hosts.map((h) => [h.name, h.slots]));
  return makespanLowerBound(tasks, eligible, slots, legacy);
}
