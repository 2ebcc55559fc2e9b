/**
 * Routing a task to a host for this pass: the hosts' slots as this loop sees them (its own in
 * use, other loops' live leases, GPU memory), and in makespan mode the slot the plan gave it.
 */

import type { TypeConfig } from '../config/types.js';
import type { RuntimeEstimator } from '../schedule/estimates.js';
import { type Placement, planMakespan } from '../schedule/makespan.js';
import { type RouteDecision, type RouteRequest, route } from '../schedule/router.js';
import type { HostSlots } from '../schedule/slots.js';
import type { LoopShare } from '../schedule/spread.js';
import type { Task } from '../store/task.js';
import { failedHosts } from './lifecycle/counts.js';

/** Tasks planned at once in makespan mode; the rest wait for the next pass's plan. */
const makespanPlanLimit = 256;

/** The hosts as one pass sees them. */
export interface HostsView {
  slots: ReadonlyMap<string, HostSlots>;
  /** Slot indices other loops on the store hold, per host. */
  heldElsewhere: ReadonlyMap<string, readonly number[]>;
  drained: readonly string[];
  up(host: string): boolean;
  /** Slots a host can use now for a task needing `vramGb` (GPU memory). */
  usableSlots?(host: string, vramGb: number | undefined, used: number): number;
  /** Why a host cannot take a task (a model it does not serve). */
  refusal?(host: string, task: Task, type: string): string | undefined;
  random?: () => number;
  /** Other loops hold live leases too: this loop's share of the slots first (schedule/spread.ts). */
  share?: LoopShare;
}

/** Slots free on `host` now for this loop. */
export function freeSlots(view: HostsView, host: string): number {
  const slots = view.slots.get(host);
  return slots ? slots.freeBeside(view.heldElsewhere.get(host)) : 0;
}

/** The host's usable slot count for a type (configured, less any GPU-memory shrink). */
export function usableSlots(view: HostsView, host: string, vramGb: number | undefined): number {
  const slots = view.slots.get(host);
  if (!slots) return 0;
  const used = slots.used + (view.heldElsewhere.get(host)?.length ?? 0);
  return Math.min(slots.effective, view.usableSlots?.(host, vramGb, used) ?? slots.effective);
}

/**
 * Where `task` goes now. A loop sharing the store with others (`view.share`) tries the hosts with
 * one of its own slot numbers free first, in the type's order: the others' free slots are theirs
 * to take next, and a claim on one, judged on a view a few milliseconds old, often meets its
 * owner's and is refused (with 4 loops on first-fit hosts, a fifth of their commits). Only when
 * no eligible host has one (or only one the task failed on) does it take another's. A type that
 * declares GPU memory is routed on the slots whose GPUs hold it, whoever's they are, as before.
 */
export function routeTask(view: HostsView, task: Task, type: string, config: TypeConfig): RouteDecision {
  const { share } = view;
  if (share && config.vramGb === undefined) {
    const own = routeAmong(view, task, type, config, (slots, held) => slots.ownFreeBeside(held, share));
    // A host the task failed on is passed over for a fresh one with any free slot, as always.
    if (own.kind === 'assign' && !failedHosts(task).has(own.host)) return own;
    if (own.kind === 'waiting' || own.kind === 'unroutable') return own;
  }
  return routeAmong(view, task, type, config, (slots, held) => slots.freeBeside(held));
}

function routeAmong(
  view: HostsView,
  task: Task,
  type: string,
  config: TypeConfig,
  freeOf: (slots: HostSlots, held: readonly number[]) => number,
): RouteDecision {
  const hosts = new Map(
    [...view.slots].map(([name, slots]) => {
      const elsewhere = view.heldElsewhere.get(name)?.length ?? 0;
      const effective = usableSlots(view, name, config.vramGb);
      const used = slots.used + elsewhere;
      return [
        name,
        {
          name,
          up: view.up(name),
          draining: view.drained.includes(name),
          free: Math.max(0, Math.min(freeOf(slots, view.heldElsewhere.get(name) ?? []), effective - used)),
          used,
          effective,
        },
      ];
    }),
  );
  const request: RouteRequest = { type, preference: config.hosts, hosts, avoid: failedHosts(task) };
  const refusal = view.refusal;
  if (refusal) request.accepts = (host) => refusal(host, task, type);
  if (view.random) request.random = view.random;
  return route(request);
}

/** What the makespan plan needs of the loop: the work in flight and the expected run times. */
export interface PlanInput {
  now: number;
  estimator: RuntimeEstimator;
  /** This loop's work in flight: its host, type and start (claims not yet written: no start). */
  inFlight: readonly { host: string; type: string; startedAt?: number }[];
  typeOf(task: Task): string;
  typeConfig(type: string): TypeConfig;
  isInFlight(id: string): boolean;
}

/**
 * The makespan plan for the tasks of the most urgent priority among `ordered` (later priorities
 * wait for it anyway): each host's slots, free now or when their running task should end.
 */
export function makespanPlan(
  view: HostsView,
  input: PlanInput,
  ordered: readonly Task[],
  previous: Map<string, Placement> | undefined,
): Map<string, Placement> {
  const slotFreeIn = new Map<string, number[]>();
  for (const name of view.slots.keys()) {
    if (view.drained.includes(name) || !view.up(name)) continue;
    const busy = input.inFlight
      .filter((r) => r.host === name)
      .map((r) =>
        r.startedAt === undefined
          ? input.estimator.expected(r.type, name)
          : Math.max(1, r.startedAt + input.estimator.expected(r.type, name) - input.now),
      );
    slotFreeIn.set(name, [...Array.from({ length: freeSlots(view, name) }, () => 0), ...busy]);
  }
  const top = ordered.length > 0 ? (ordered[0]!.priority ?? 0) : 0;
  const planned = ordered
    .filter((t) => (t.priority ?? 0) === top && !input.isInFlight(t.id))
    .slice(0, makespanPlanLimit)
    .map((task) => {
      const type = input.typeOf(task);
      return {
        id: task.id,
        hosts: input
          .typeConfig(type)
          .hosts.flat()
          .filter((h) => slotFreeIn.has(h)),
        ms: (host: string) => input.estimator.expected(type, host),
      };
    });
  return planMakespan(planned, slotFreeIn, previous);
}

/** Makespan routing: the slot the plan gave the task, now if it is free, else wait for it. */
export function routeByPlan(
  view: HostsView,
  plan: Map<string, Placement>,
  task: Task,
  type: string,
  config: TypeConfig,
): RouteDecision {
  const plain = routeTask(view, task, type, config);
  if (plain.kind !== 'assign' && plain.kind !== 'busy') return plain;
  const placed = plan.get(task.id);
  if (!placed) return plain;
  if (placed.startMs > 0 || freeSlots(view, placed.host) === 0) return { kind: 'busy' };
  return { kind: 'assign', host: placed.host };
}
