/** Reading leases: which are live, and what the live ones hold on each host. */
import type { MutationContext } from '../../store/store.js';
import { type Lease, statusOf, type Task, yggOf } from '../../store/task.js';

/** Expiry times already read: a claim looks at every live lease, hundreds of claims a commit. */
const expiries = new WeakMap<Lease, number>();

/** Owners the store knows to be gone (their process died): their leases count as lapsed. */
export type OwnerGone = (owner: string) => boolean;

/**
 * A lease still in force at `now` (an unreadable expiry counts as lapsed), and not held by an
 * owner the store knows to be gone.
 */
export function leaseLive(lease: Lease | undefined, now: number, gone?: OwnerGone): lease is Lease {
  if (!lease) return false;
  let expires = expiries.get(lease);
  if (expires === undefined) {
    expires = Date.parse(lease.expires);
    expiries.set(lease, expires);
  }
  return !Number.isNaN(expires) && expires > now && !gone?.(lease.owner);
}

/** What the live leases of other tasks hold: slots per host (by index) and tasks per type. */
export interface Occupancy {
  /** Per host, the slot indices held (a lease from before slots were recorded holds -1). */
  slots: Map<string, number[]>;
  types: Map<string, number>;
  /** The owners of the live leases counted. */
  owners: Set<string>;
}

/**
 * The occupancy of the store by running tasks other than `except`. A slot lent while its task
 * waits on a tool is not counted: another task may use it meanwhile.
 */
export function occupancy(
  inProgress: Iterable<Task>,
  now: number,
  except?: string,
  gone?: OwnerGone,
): Occupancy {
  const slots = new Map<string, number[]>();
  const types = new Map<string, number>();
  const owners = new Set<string>();
  for (const task of inProgress) {
    if (task.id === except || statusOf(task) !== 'in_progress') continue;
    const lease = yggOf(task).lease;
    if (!leaseLive(lease, now, gone)) continue;
    owners.add(lease.owner);
    if (typeof lease.type === 'string') types.set(lease.type, (types.get(lease.type) ?? 0) + 1);
    if (lease.lent === true || typeof lease.host !== 'string') continue;
    const held = slots.get(lease.host) ?? [];
    held.push(typeof lease.slot === 'number' ? lease.slot : -1);
    slots.set(lease.host, held);
  }
  return { slots, types, owners };
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

/** What the live leases hold, counted once: per host the held slots (lent ones left out), per type the tasks. */
interface HeldCounts {
  /** The context's `changes` this was true at, and the time it was read at. */
  changes: number;
  now: number;
  hosts: Map<string, Map<number, number>>;
  types: Map<string, number>;
}

const heldInCommit = new WeakMap<MutationContext, HeldCounts>();

function count(held: HeldCounts, lease: Lease, by: 1 | -1): void {
  if (typeof lease.type === 'string') held.types.set(lease.type, (held.types.get(lease.type) ?? 0) + by);
  if (lease.lent === true || typeof lease.host !== 'string') return;
  let slots = held.hosts.get(lease.host);
  if (!slots) {
    slots = new Map();
    held.hosts.set(lease.host, slots);
  }
  const slot = typeof lease.slot === 'number' ? lease.slot : -1;
  slots.set(slot, (slots.get(slot) ?? 0) + by);
}

/**
 * What the live leases of tasks other than `task` hold, for a claim inside a commit: the running
 * tasks are counted once per commit instead of once per claim (a commit of a busy loop holds
 * hundreds of claims). The counts are read again when another change of the commit has applied
 * since, or when this claim's clock is earlier.
 */
export function claimViewInCommit(
  context: MutationContext,
  now: number,
  task: Task,
  host: string,
  slot: number,
  type: string,
): ClaimView {
  const gone = context.ownerGone?.bind(context);
  let held = heldInCommit.get(context);
  if (!held || held.changes !== context.changes || now < held.now) {
    held = { changes: context.changes, now, hosts: new Map(), types: new Map() };
    for (const running of context.tasks(['in_progress'])) {
      if (running.status !== 'in_progress') continue;
      const lease = rawLease(running);
      if (leaseLive(lease, now, gone)) count(held, lease, 1);
    }
    heldInCommit.set(context, held);
  }
  const slots = held.hosts.get(host);
  const view: ClaimView = {
    onHost: slots ? [...slots.values()].reduce((a, b) => a + b, 0) : 0,
    slotTaken: (slots?.get(slot) ?? 0) > 0,
    ofType: held.types.get(type) ?? 0,
  };
  // The task's own lease (live, from a loop that died here) holds nothing against its new claim.
  const own = task.status === 'in_progress' ? rawLease(task) : undefined;
  if (leaseLive(own, held.now, gone)) {
    if (own.type === type) view.ofType -= 1;
    if (own.lent !== true && own.host === host) {
      view.onHost -= 1;
      if (own.slot === slot && (slots?.get(slot) ?? 0) <= 1) view.slotTaken = false;
    }
  }
  return view;
}

/**
 * A claim of the commit is about to apply: its lease joins the counts (and the task's old one
 * leaves them), so the next claim reuses them.
 */
export function claimedInCommit(context: MutationContext, before: Task, lease: Lease): void {
  const held = heldInCommit.get(context);
  if (!held || held.changes !== context.changes) return;
  const old = before.status === 'in_progress' ? rawLease(before) : undefined;
  if (leaseLive(old, held.now, context.ownerGone?.bind(context))) count(held, old, -1);
  count(held, lease, 1);
  held.changes = context.changes + 1;
}
