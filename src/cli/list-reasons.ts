/**
 * Why each ready task is not running, for `ygg list --ready`: from the running loop when one
 * answers (it knows which hosts are down), else worked out here from hosts.yaml and the operator
 * switches (no eligible host, every eligible host drained, assigned to someone else).
 */
import { classifyType, typeConfigFor } from '../config/type-rules.js';
import type { YggConfig } from '../config/types.js';
import { type ControlState, readControl } from '../dispatch/control.js';
import { heldByDependency } from '../dispatch/held.js';
import { connectStatus } from '../observe/monitor/client.js';
import { route } from '../schedule/router.js';
import type { TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';

export interface WaitReason {
  /** `loop`: told by the running loop; `config`: worked out from hosts.yaml. */
  source: 'loop' | 'config';
  reason: string;
}

export async function waitReasons(
  tasks: readonly Task[],
  runtimeDir: string,
  config: YggConfig | undefined,
  store?: Pick<TaskStore, 'get' | 'sharedState'>,
): Promise<Map<string, WaitReason>> {
  const reasons = new Map<string, WaitReason>();
  const live = await connectStatus(runtimeDir, 1500);
  const snapshot = await live?.snapshot(AbortSignal.timeout(3000)).catch(() => undefined);
  for (const held of snapshot?.unroutable ?? [])
    reasons.set(held.id, { source: 'loop', reason: held.reason });
  // Tasks the loop has not looked at yet (or no loop): what hosts.yaml and the switches say.
  const control = await readControl(
    store?.sharedState ? { runtimeDir, sharedState: store.sharedState } : runtimeDir,
  );
  for (const task of tasks) {
    if (reasons.has(task.id)) continue;
    const reason = staticReason(task, config, control, store);
    if (reason) reasons.set(task.id, { source: 'config', reason });
  }
  return reasons;
}

/** Why `task` cannot run whatever the hosts' health: the same checks the loop makes first. */
export function staticReason(
  task: Task,
  config: YggConfig | undefined,
  control: ControlState,
  store?: Pick<TaskStore, 'get'>,
): string | undefined {
  if (task.assignee && task.assignee !== 'ygg') return `assigned to ${task.assignee}; ygg leaves it to them`;
  // bd calls it ready; ygg will not start it while a blocker ended cancelled or dead.
  const held = store ? heldByDependency(task, store) : undefined;
  if (held) return held;
  if (!config) return undefined;
  const type = classifyType(task, config);
  const hosts = new Map(
    config.hosts.map((h) => [
      h.name,
      {
        name: h.name,
        up: true,
        draining: control.drained.includes(h.name),
        free: h.slots,
        used: 0,
        effective: h.slots,
      },
    ]),
  );
  const decision = route({ type, preference: typeConfigFor(config, type).hosts, hosts, random: () => 0 });
  if (decision.kind === 'unroutable') return `unroutable: ${decision.reason}`;
  if (decision.kind === 'waiting') return `waiting: ${decision.reason}`;
  if (control.paused) return 'waiting: the queue is paused (ygg resume)';
  return undefined;
}
