/** Reading leases: which are live, and what the live ones hold on each host. */
import { type Lease, statusOf, type Task, yggOf } from '../../store/task.js';

/** Expiry times already read: a claim looks at every live lease, hundreds of claims a commit. */
const expiries = new WeakMap<Lease, number>();

/** A lease still in force at `now` (an unreadable expiry counts as lapsed). */
export function leaseLive(lease: Lease | undefined, now: number): lease is Lease {
  if (!lease) return false;
  let expires = expiries.get(lease);
  if (expires === undefined) {
    expires = Date.parse(lease.expires);
    expiries.set(lease, expires);
  }
  return !Number.isNaN(expires) && expires > now;
}

/** What the live leases of other tasks hold: slots per host (by index) and tasks per type. */
export interface Occupancy {
  /** Per host, the slot indices held (a lease from before slots were recorded holds -1). */
  slots: Map<string, number[]>;
  types: Map<string, number>;
}

/**
 * The occupancy of the store by running tasks other than `except`. A slot lent while its task
 * waits on a tool is not counted: another task may use it meanwhile.
 */
export function occupancy(inProgress: Iterable<Task>, now: number, except?: string): Occupancy {
  const slots = new Map<string, number[]>();
  const types = new Map<string, number>();
  for (const task of inProgress) {
    if (task.id === except || statusOf(task) !== 'in_progress') continue;
    const lease = yggOf(task).lease;
    if (!leaseLive(lease, now)) continue;
    if (typeof lease.type === 'string') types.set(lease.type, (types.get(lease.type) ?? 0) + 1);
    if (lease.lent === true || typeof lease.host !== 'string') continue;
    const held = slots.get(lease.host) ?? [];
    held.push(typeof lease.slot === 'number' ? lease.slot : -1);
    slots.set(lease.host, held);
  }
  return { slots, types };
}

/** Why a host cannot give slot `slot` now, or undefined when it can. */
export function slotRefusal(
  held: readonly number[] | undefined,
  slot: number,
  hostSlots: number,
): string | undefined {
  const taken = held ?? [];
  if (taken.length >= hostSlots) return 'full';
  if (taken.includes(slot)) return 'slot taken';
  return undefined;
}

/** What the live leases of tasks other than `except` hold that one claim needs to know. */
export interface ClaimView {
  /** Slots held on the host (lent ones not counted). */
  onHost: number;
  /** The slot asked for is held already. */
  slotTaken: boolean;
  /** Tasks of the type under live leases. */
  ofType: number;
}

/**
 * The lease on a task, read directly: a claim looks at every running task's lease, hundreds of
 * claims a commit, so this skips the validating reader (a lease of the wrong shape reads as none).
 */
function rawLease(task: Task): Lease | undefined {
  const meta = task.metadata as { ygg?: { lease?: unknown } } | null | undefined;
  const lease = meta && typeof meta === 'object' ? meta.ygg?.lease : undefined;
  if (!lease || typeof lease !== 'object') return undefined;
  const { owner, token, expires } = lease as Partial<Lease>;
  return typeof owner === 'string' && typeof token === 'number' && typeof expires === 'string'
    ? (lease as Lease)
    : undefined;
}

/** One pass over the running tasks, no maps: a claim runs this once per task of a large commit. */
export function claimView(
  inProgress: Iterable<Task>,
  now: number,
  except: string,
  host: string,
  slot: number,
  type: string,
): ClaimView {
  const view: ClaimView = { onHost: 0, slotTaken: false, ofType: 0 };
  for (const task of inProgress) {
    if (task.id === except || task.status !== 'in_progress') continue;
    const lease = rawLease(task);
    if (!leaseLive(lease, now)) continue;
    if (lease.type === type) view.ofType += 1;
    if (lease.lent === true || lease.host !== host) continue;
    view.onHost += 1;
    if (lease.slot === slot) view.slotTaken = true;
  }
  return view;
}
