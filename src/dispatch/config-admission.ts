/**
 * Admission without a running loop (`ygg list --ready`, `ygg position` when no loop answers):
 * the same `decide` the loop makes, over hosts.yaml with every host up and idle, the operator
 * switches (drained hosts, pause) and the plugins. What it cannot know (a host that is down, a
 * slot another loop holds) it leaves out.
 */
import { classifyType, typeConfigFor } from '../config/type-rules.js';
import type { YggConfig } from '../config/types.js';
import type { PluginSet } from '../plugins/loader.js';
import { HostSlots } from '../schedule/slots.js';
import type { TaskStore } from '../store/store.js';
import { type Task, yggOf } from '../store/task.js';
import { decide, type Holdup } from './admission.js';
import type { ControlState } from './control.js';

/** Why a ready task would wait with no loop's view of the hosts; undefined when it would start. */
export function configHoldup(
  task: Task,
  options: {
    config: YggConfig;
    control: ControlState;
    plugins: PluginSet;
    store: Pick<TaskStore, 'get'>;
    now: number;
  },
): Pick<Holdup, 'kind' | 'reason'> | undefined {
  const { config, control, plugins } = options;
  const typeConfig = (type: string) => typeConfigFor(config, type);
  // Fresh slots for each task: it is asked alone, as if it were the first in line.
  const slots = new Map(config.hosts.map((h) => [h.name, new HostSlots(h)]));
  const decision = decide(task, {
    now: options.now,
    store: options.store,
    hosts: { slots, heldElsewhere: new Map(), drained: control.drained, up: () => true, random: () => 0 },
    typesRunning: new Map(),
    legacy: false,
    typeOf: (t) => classifyType(t, config),
    typeConfig,
    pluginFor: (t, type) => {
      const named = yggOf(t).handler ?? typeConfig(type).handler;
      return named ? plugins.byName.get(named) : plugins.byType.get(type);
    },
  });
  if (decision.kind === 'hold') return decision.holdup;
  if (decision.kind === 'later') return { kind: 'slot', reason: decision.reason };
  if (control.paused) return { kind: 'waiting', reason: 'waiting: the queue is paused (ygg resume)' };
  return undefined;
}
