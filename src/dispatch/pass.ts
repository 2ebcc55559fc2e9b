/**
 * One pass over the queue: bd's ready set plus tasks whose lease lapsed, ordered, each decided
 * (launch, hold, later) and the decision applied. A task whose data breaks a rule of ours is
 * held with the reason; it never stops the pass.
 */

import { hasBoost } from '../schedule/fair.js';
import type { Placement } from '../schedule/makespan.js';
import { orderForMakespan } from '../schedule/order.js';
import type { HostSlots } from '../schedule/slots.js';
import { type LoopShare, loopShare, type RecentOwners, shareFirst } from '../schedule/spread.js';
import type { Task } from '../store/task.js';
import { type AdmissionInput, type Decision, decide, slotReason } from './admission.js';
import { type InProgressTasks, scanInProgress } from './candidates.js';
import type { DispatchExtensions, PassView } from './extensions.js';
import { admissionInput, type PassParts, planFor, totalFree } from './pass-input.js';
import { usableSlots } from './routing.js';
import type { Runner } from './runner.js';
import type { UnreachedMarks } from './unreached-marks.js';
import type { WaitingTasks } from './waiting.js';

export interface PassContext extends Omit<PassParts, 'now' | 'heldElsewhere' | 'typesElsewhere'> {
  view: PassView;
  runner: Runner;
  waiting: WaitingTasks;
  /** The store's in-progress tasks, cached until the store changes. */
  inProgress: InProgressTasks;
  slots: ReadonlyMap<string, HostSlots>;
  extensions: Pick<DispatchExtensions, 'order' | 'launched'>;
  /** The other loops that held leases lately, for this loop's share (schedule/spread.ts). */
  recentOwners: RecentOwners;
  /** The previous pass's makespan plan (kept stable across passes). */
  plan: Map<string, Placement> | undefined;
  /** When the tasks a full pass did not reach were last given their reason. */
  unreached: UnreachedMarks;
}

export interface PassResult {
  launched: number;
  /** Something could run later without any outside change (a slot frees, a retry comes due). */
  later: boolean;
  /** Only hosts coming back (up, or undrained) would let anything run: the ready tasks wait on them alone. */
  waitsOnHostsOnly: boolean;
  /** When to look again at the latest (a retry, a lease that lapses). */
  nextWake: number;
  /** What other loops' live leases hold per host (for a slot taken back after a tool call). */
  heldElsewhere: Map<string, number[]>;
  plan: Map<string, Placement> | undefined;
}

/** How many tasks past the last free slot a pass gives the reason they wait. */
const notReachedMarks = 1000;
/** How many of those a walk decides at most (see markUnreached). */
const unreachedDecidesPerWalk = 64;

export function runPass(ctx: PassContext, now: number): PassResult {
  const { runner, view } = ctx;
  const scan = scanInProgress(
    ctx.inProgress.get(),
    view.owner,
    now,
    (id) => runner.isInFlight(id),
    ctx.store.ownerGone?.bind(ctx.store),
  );
  const parts: PassParts = {
    ...ctx,
    now,
    heldElsewhere: scan.elsewhere.slots,
    typesElsewhere: scan.elsewhere.types,
  };
  const owners = ctx.recentOwners.see(scan.elsewhere.owners, now, ctx.store.ownerGone?.bind(ctx.store));
  const share = shareOf(ctx, owners);
  if (share) parts.share = share;
  const input = admissionInput(parts);
  const makespan = ctx.config.queue.order === 'makespan';
  const ordered = spreadAmongLoops(
    ctx,
    input,
    order(ctx, withLapsed(ctx.store.ready(new Date(now)), scan.lapsed)),
  );
  const plan = makespan
    ? planFor({ ...parts, estimator: view.estimator }, input.hosts, ordered, ctx.plan)
    : undefined;
  if (plan) input.plan = plan;
  let otherLater = false;
  const result: PassResult = {
    launched: 0,
    later: false,
    waitsOnHostsOnly: false,
    nextWake: scan.nextExpiry,
    heldElsewhere: scan.elsewhere.slots,
    plan,
  };
  const cap = ctx.options.concurrency;
  for (const [at, task] of ordered.entries()) {
    const capped = cap !== undefined && runner.running.size + runner.claiming.size >= cap;
    if (capped || totalFree(input.hosts) === 0) {
      result.later = true;
      // No slot free: full (it frees by itself) or every host down or drained (it does not).
      const usable = capped || anyHostUsable(input.hosts);
      if (usable) otherLater = true;
      const reason = capped
        ? `waiting: this loop runs ${cap} ${cap === 1 ? 'task' : 'tasks'} at once (its --concurrency)`
        : usable
          ? slotReason(usableHosts(input.hosts))
          : hostsOutReason(input.hosts);
      // Walked only when it may change a mark (see unreached-marks.ts); else looked at when due.
      if (ctx.unreached.due(reason, now))
        ctx.unreached.walked(reason, now, markUnreached(ctx, ordered, at, reason, input, now));
      else ctx.unreached.skipped();
      const owed = ctx.unreached.owedAt;
      if (owed !== undefined) result.nextWake = Math.min(result.nextWake, owed);
      break;
    }
    if (runner.isInFlight(task.id)) continue;
    const decision = decideSafely(task, input);
    const applied = apply(ctx, decision, input, now);
    if (applied === 'launched') result.launched += 1;
    else if (applied === 'later') {
      result.later = true;
      if (decision.kind !== 'hold' || decision.holdup.kind !== 'waiting') otherLater = true;
    }
    if (decision.kind === 'hold' && decision.at !== undefined)
      result.nextWake = Math.min(result.nextWake, decision.at);
  }
  result.waitsOnHostsOnly = result.later && !otherLater;
  return result;
}

/**
 * Gives the tasks from `from` on that no slot could take in this pass `reason`, each task no pass
 * has decided yet decided first (up to a budget). False when the budget left some undecided.
 */
function markUnreached(
  ctx: PassContext,
  ordered: readonly Task[],
  from: number,
  reason: string,
  input: AdmissionInput,
  now: number,
): boolean {
  const { runner, view } = ctx;
  let decides = unreachedDecidesPerWalk;
  // Bounded, as the snapshot's list of waiting tasks is: a long queue costs no more per pass.
  const end = Math.min(ordered.length, from + notReachedMarks);
  for (let i = from; i < end; i++) {
    const rest = ordered[i] as Task;
    if (runner.isInFlight(rest.id)) continue;
    // A task no pass has decided yet (it came while every slot was taken) is decided once, so
    // one no host can ever take, or held by a blocker, says so instead of "waiting for a slot".
    const undecided = !ctx.waiting.holdups.has(rest.id);
    // Past the budget it stays unmarked for a later walk; a task deep in a long queue is often
    // run by another loop before this one comes to it.
    if (undecided && decides === 0) continue;
    const type = view.typeOf(rest);
    // Marked so by an earlier walk: nothing to do (most of the window, walk after walk).
    if (ctx.waiting.marked(rest, reason, type)) continue;
    if (undecided) {
      decides -= 1;
      const decision = decideSafely(rest, input);
      if (decision.kind === 'hold') {
        apply(ctx, decision, input, now);
        continue;
      }
      // Only this loop's --concurrency stops it: the slot it took stays free for other loops.
      if (decision.kind === 'launch') ctx.slots.get(decision.slot.host)?.release(decision.slot);
    }
    ctx.waiting.notReached(rest, type, reason, now);
  }
  return decides > 0;
}

/** The ready list (the store's own array, never changed here) with the lapsed leases after it. */
function withLapsed(ready: readonly Task[], lapsed: readonly Task[]): readonly Task[] {
  return lapsed.length === 0 ? ready : [...ready, ...lapsed];
}

function usableHosts(hosts: AdmissionInput['hosts']): string[] {
  return [...hosts.slots.keys()].filter((name) => hosts.up(name) && !hosts.drained.includes(name));
}

function anyHostUsable(hosts: AdmissionInput['hosts']): boolean {
  return usableHosts(hosts).length > 0;
}

function hostsOutReason(hosts: AdmissionInput['hosts']): string {
  const names = [...hosts.slots.keys()];
  const down = names.filter((n) => !hosts.up(n));
  const drained = names.filter((n) => hosts.up(n) && hosts.drained.includes(n));
  const parts = [
    ...(down.length ? [`down: ${down.join(', ')}`] : []),
    ...(drained.length ? [`drained: ${drained.join(', ')}`] : []),
  ];
  return `waiting: every host is down or drained (${parts.join('; ')})`;
}

/**
 * This loop's share among the loops holding live leases: see schedule/spread.ts. None for a loop
 * alone, under the makespan plan (whose order is the point), or with `queue.strategy: fair`
 * (submitters' turns are the point).
 */
function shareOf(ctx: PassContext, owners: ReadonlySet<string>): LoopShare | undefined {
  const queue = ctx.config.queue;
  if (queue.order === 'makespan' || queue.strategy === 'fair') return undefined;
  return loopShare(ctx.view.owner, owners);
}

/**
 * With a share, this loop's tasks first among the first (free slots × loops) tasks, never across
 * a change of priority (`fifo` has none) or past a boosted task: see schedule/spread.ts.
 */
function spreadAmongLoops(
  ctx: PassContext,
  input: AdmissionInput,
  ordered: readonly Task[],
): readonly Task[] {
  const share = input.hosts.share;
  if (!share) return ordered;
  const { strategy, boostLabel } = ctx.config.queue;
  const rank = (task: Task) => `${strategy === 'fifo' ? '' : task.priority} ${hasBoost(task, boostLabel)}`;
  return shareFirst(ordered, totalFree(input.hosts) * share.count, rank, (task) => task.id, share);
}

function order(ctx: PassContext, candidates: readonly Task[]): readonly Task[] {
  if (ctx.extensions.order) return ctx.extensions.order(candidates, ctx.view);
  if (ctx.config.queue.order === 'makespan')
    return orderForMakespan(candidates, ctx.view.estimator, (t) => ctx.view.typeOf(t));
  return candidates;
}

/** One task's decision; one whose data breaks a rule of ours is held with why, never the loop. */
export function decideSafely(task: Task, input: AdmissionInput): Decision {
  try {
    return decide(task, input);
  } catch (error) {
    const reason = `ygg cannot read this task: ${error instanceof Error ? error.message : String(error)}`;
    return {
      kind: 'hold',
      task,
      holdup: { kind: 'bad-task', type: 'unknown', reason },
      report: true,
      later: false,
    };
  }
}

function apply(
  ctx: PassContext,
  decision: Decision,
  input: AdmissionInput,
  now: number,
): 'launched' | 'later' | 'held' {
  const { task } = decision;
  if (decision.kind === 'hold') {
    ctx.waiting.hold(task, decision.holdup, decision.report, now);
    return decision.later ? 'later' : 'held';
  }
  if (decision.kind === 'later') {
    ctx.waiting.waitsForSlot(task, input.typeOf(task), decision.reason, now);
    return 'later';
  }
  const types = input.typesRunning as Map<string, number>;
  types.set(decision.type, (types.get(decision.type) ?? 0) + 1);
  const vramGb = ctx.typeConfig(decision.type).vramGb;
  ctx.runner.launch({
    ...decision,
    hostSlots: ctx.slots.get(decision.slot.host)!,
    usable: usableSlots(input.hosts, decision.slot.host, vramGb),
    readyAt: ctx.waiting.started(task, now),
  });
  ctx.extensions.launched?.(task, decision.type, ctx.view);
  return 'launched';
}
