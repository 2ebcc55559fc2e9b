/**
 * Admission: for one ready task in one pass, launch it now, hold it (with the reason every view
 * shows: `list --ready`, `position`, the monitor, the web view), or look again later. Decisions
 * are data; the loop applies them.
 */
import type { TypeConfig } from '../config/types.js';
import type { Plugin } from '../plugins/api.js';
import type { Placement } from '../schedule/makespan.js';
import type { Slot } from '../schedule/slots.js';
import type { TaskStore } from '../store/store.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import { taskShapeProblem } from '../store/task-shape.js';
import { plural } from '../text/plural.js';
import { heldByDependency } from './held.js';
import { type HostsView, routeByPlan, routeTask } from './routing.js';

/** Why a ready task is not running. */
export interface Holdup {
  /** `slot`: it could run, but a slot or a type's cap is full now (a reason shown, never reported as an event). */
  kind:
    | 'unroutable'
    | 'waiting'
    | 'assigned'
    | 'held'
    | 'retry'
    | 'no-handler'
    | 'admission'
    | 'bad-task'
    | 'slot';
  reason: string;
  type: string;
}

export type Decision =
  | { kind: 'launch'; task: Task; type: string; plugin: Plugin; slot: Slot }
  /** It cannot run now for a reason worth showing; `report` false for reasons that come and go. */
  | { kind: 'hold'; task: Task; holdup: Holdup; report: boolean; later: boolean; at?: number }
  /** A slot or cap is full now: try again when one frees; `reason` says which. */
  | { kind: 'later'; task: Task; reason: string };

/** What admission needs to know for one pass. */
export interface AdmissionInput {
  now: number;
  hosts: HostsView;
  store: Pick<TaskStore, 'get'>;
  /** Tasks of each type running under live leases, in every loop on the store. */
  typesRunning: ReadonlyMap<string, number>;
  legacy: boolean;
  plan?: Map<string, Placement>;
  typeOf(task: Task): string;
  typeConfig(type: string): TypeConfig;
  pluginFor(task: Task, type: string): Plugin | undefined;
  /** Admission beyond routing (rate limits, queue limits, the staleness gate). */
  admit?: (task: Task, type: string) => string | undefined;
  gpuFits?(host: string, gpus: readonly number[], vramGb: number): boolean;
}

const hold = (task: Task, kind: Holdup['kind'], type: string, reason: string, later = false): Decision => ({
  kind: 'hold',
  task,
  holdup: { kind, type, reason },
  report: true,
  later,
});

export function decide(task: Task, input: AdmissionInput): Decision {
  // A line of the wrong shape is reported by the store once; here it waits with the same words.
  const shape = taskShapeProblem(task);
  if (shape) return hold(task, 'bad-task', 'unknown', `ygg cannot use this task: ${shape.message}`);
  const type = input.typeOf(task);
  const meta = yggOf(task);
  if (statusOf(task) === 'open' && task.assignee && task.assignee !== 'ygg')
    return hold(task, 'assigned', type, `assigned to ${task.assignee}; ygg leaves it to them`);
  const nextTry = meta.next_try_at ? Date.parse(meta.next_try_at) : Number.NaN;
  if (nextTry > input.now) {
    return {
      kind: 'hold',
      task,
      holdup: { kind: 'retry', type, reason: `retrying at ${meta.next_try_at}` },
      report: false,
      later: true,
      at: nextTry,
    };
  }
  const held = heldByDependency(task, input.store);
  if (held) return hold(task, 'held', type, held);
  const plugin = input.pluginFor(task, type);
  if (!plugin) {
    const named = meta.handler ?? input.typeConfig(type).handler;
    const reason = named
      ? `no handler plugin named "${named}" is loaded`
      : `no handler plugin serves type "${type}"`;
    return hold(task, 'no-handler', type, reason);
  }
  const config = input.typeConfig(type);
  const running = input.typesRunning.get(type) ?? 0;
  if (input.legacy && running > 0)
    return { kind: 'later', task, reason: `waiting: --legacy runs one ${type} task at a time` };
  if (config.maxConcurrent !== undefined && running >= config.maxConcurrent)
    return {
      kind: 'later',
      task,
      reason: `waiting: ${plural(running, `${type} task runs`, `${type} tasks run`)}, its max_concurrent (${config.maxConcurrent})`,
    };
  const admission = input.admit?.(task, type);
  if (admission)
    return {
      kind: 'hold',
      task,
      holdup: { kind: 'admission', type, reason: admission },
      report: false,
      later: true,
    };
  const decision = input.plan
    ? routeByPlan(input.hosts, input.plan, task, type, config)
    : routeTask(input.hosts, task, type, config);
  if (decision.kind === 'busy') return { kind: 'later', task, reason: slotReason(config.hosts) };
  if (decision.kind === 'waiting') return hold(task, 'waiting', type, decision.reason, true);
  if (decision.kind === 'unroutable') return hold(task, 'unroutable', type, decision.reason);
  // A task that declares GPU memory takes a slot on a GPU that has it free, not just any slot.
  const { gpuFits } = input;
  const vramGb = config.vramGb;
  const slot = input.hosts.slots
    .get(decision.host)
    ?.tryAcquire(
      gpuFits && vramGb ? (gpus) => gpuFits(decision.host, gpus, vramGb) : undefined,
      input.hosts.heldElsewhere.get(decision.host),
      input.hosts.share,
    );
  if (!slot)
    return {
      kind: 'later',
      task,
      reason: vramGb
        ? `waiting for a slot on ${decision.host} with ${vramGb} GB of GPU memory free`
        : slotReason([decision.host]),
    };
  return { kind: 'launch', task, type, plugin, slot };
}

/** Why a task that could run waits: every slot it may use is taken. */
export function slotReason(hosts: readonly string[]): string {
  return hosts.length > 0
    ? `waiting for a free slot (${hosts.join(', ')} full)`
    : 'waiting for a free slot (every host is full)';
}
