/** What one pass of the loop decides with: the hosts as it sees them, the types running, the plan. */

import type { TypeConfig, YggConfig } from '../config/types.js';
import type { Plugin } from '../plugins/api.js';
import type { RuntimeEstimator } from '../schedule/estimates.js';
import type { Placement } from '../schedule/makespan.js';
import type { HostSlots } from '../schedule/slots.js';
import type { LoopShare } from '../schedule/spread.js';
import type { TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';
import type { AdmissionInput } from './admission.js';
import type { DispatchExtensions, PassView } from './extensions.js';
import { freeSlots, type HostsView, makespanPlan } from './routing.js';
import type { Runner } from './runner.js';

/** What the loop learns of its hosts from outside (health, GPU memory, models served). */
export interface HostSignals {
  /** Whether a host is up (from health probes); every host is up without one. */
  hostUp?(host: string): boolean;
  /** Slots a host can use now for a task needing `vramGb` (GPU memory); the configured ones without. */
  usableSlots?(host: string, vramGb: number | undefined, used: number): number;
  /** Whether these GPUs of `host` have the free memory a task needing `vramGb` takes (default yes). */
  gpuFits?(host: string, gpus: readonly number[], vramGb: number): boolean;
  /** Why a host cannot take a task (a model it does not serve); undefined when it can. */
  refusal?(host: string, task: Task, type: string): string | undefined;
}

export interface PassParts {
  now: number;
  config: YggConfig;
  store: TaskStore;
  runner: Runner;
  slots: ReadonlyMap<string, HostSlots>;
  heldElsewhere: ReadonlyMap<string, readonly number[]>;
  typesElsewhere: ReadonlyMap<string, number>;
  /** This loop's share among the loops holding live leases (absent when it is alone). */
  share?: LoopShare;
  drained: readonly string[];
  options: HostSignals &
    Pick<DispatchExtensions, 'admit'> & { legacy?: boolean; random?: () => number; concurrency?: number };
  view: PassView;
  typeConfig(type: string): TypeConfig;
  pluginFor(task: Task, type: string): Plugin | undefined;
}

export function admissionInput(parts: PassParts): AdmissionInput {
  const { runner, options } = parts;
  const typesRunning = new Map(parts.typesElsewhere);
  const count = (type: string) => typesRunning.set(type, (typesRunning.get(type) ?? 0) + 1);
  for (const run of runner.running.values()) count(run.type);
  // Claims not yet durable count too, or a pass in between could start one past a type's cap.
  for (const { type } of runner.claiming.values()) count(type);
  const { hostUp, usableSlots, refusal, random, gpuFits, admit } = options;
  const hosts: HostsView = {
    slots: parts.slots,
    heldElsewhere: parts.heldElsewhere,
    ...(parts.share ? { share: parts.share } : {}),
    drained: parts.drained,
    up: (name) => (hostUp ? hostUp(name) : true),
    ...(usableSlots ? { usableSlots } : {}),
    ...(refusal ? { refusal } : {}),
    ...(random ? { random } : {}),
  };
  return {
    now: parts.now,
    hosts,
    store: parts.store,
    typesRunning,
    legacy: options.legacy === true,
    typeOf: (task) => parts.view.typeOf(task),
    typeConfig: parts.typeConfig,
    pluginFor: parts.pluginFor,
    ...(admit ? { admit: (task: Task, type: string) => admit(task, type, parts.view) } : {}),
    ...(gpuFits ? { gpuFits } : {}),
  };
}

/** Slots free now on hosts that are up and not drained. */
export function totalFree(hosts: HostsView): number {
  let free = 0;
  for (const name of hosts.slots.keys()) {
    if (!hosts.drained.includes(name) && hosts.up(name)) free += freeSlots(hosts, name);
  }
  return free;
}

/** The makespan plan over this loop's work in flight and the ordered ready tasks. */
export function planFor(
  parts: Pick<PassParts, 'now' | 'runner' | 'view' | 'typeConfig'> & { estimator: RuntimeEstimator },
  hosts: HostsView,
  ordered: readonly Task[],
  previous: Map<string, Placement> | undefined,
): Map<string, Placement> {
  const { runner } = parts;
  const inFlight = [
    ...[...runner.running.values()].map((r) => ({ host: r.host, type: r.type, startedAt: r.startedAt })),
    ...[...runner.claiming.values()].map((c) => ({ host: c.host, type: c.type })),
  ];
  const input = {
    now: parts.now,
    estimator: parts.estimator,
    inFlight,
    typeOf: (task: Task) => parts.view.typeOf(task),
    typeConfig: parts.typeConfig,
    isInFlight: (id: string) => runner.isInFlight(id),
  };
  return makespanPlan(hosts, input, ordered, previous);
}
