/**
 * Why each task waits, for `ygg list --ready` and `ygg position`: one reason per task, from the
 * dispatcher's own decisions. The running loops' (merged; they know which hosts are down and
 * which slots are taken) when they gave one; else the store's (a blocker that ended dead or
 * cancelled, or is still open, a defer, a retry time); else admission's `decide` over hosts.yaml,
 * the operator switches and the plugins, as a loop would decide with every host up and idle.
 */
import type { YggConfig } from '../config/types.js';
import { configHoldup } from '../dispatch/config-admission.js';
import { readControl } from '../dispatch/control.js';
import { storeHoldup } from '../dispatch/waiting.js';
import type { PluginSet } from '../plugins/loader.js';
import type { TaskStore } from '../store/store.js';
import type { Task } from '../store/task.js';
import { liveSnapshot } from './live-loops.js';

export interface WaitReason {
  /** `loop`: told by a running loop; `store`: the task's blockers or times; `config`: admission over hosts.yaml. */
  source: 'loop' | 'store' | 'config';
  /** Admission's kind of hold (`unroutable`, `no-handler`, `held`, `waiting`, `slot`, ...) or the store's (`blocked`, `deferred`). */
  kind: string;
  reason: string;
  /** The loop that gave it, when several run. */
  loop?: string;
}

/** Kinds that mean the task is not in line for a slot at all (`position` gives it no place). */
export const outOfLine = new Set(['unroutable', 'no-handler', 'held', 'assigned', 'bad-task']);

export async function waitReasons(
  tasks: readonly Task[],
  runtimeDir: string,
  config: YggConfig | undefined,
  store: Pick<TaskStore, 'get'>,
  now = Date.now(),
): Promise<Map<string, WaitReason>> {
  const reasons = new Map<string, WaitReason>();
  const snapshot = await liveSnapshot(runtimeDir);
  const told = snapshot?.waiting ?? snapshot?.unroutable.map((u) => ({ ...u, kind: 'unroutable' })) ?? [];
  const wanted = new Set(tasks.map((t) => t.id));
  for (const w of told)
    if (wanted.has(w.id))
      reasons.set(w.id, {
        source: 'loop',
        kind: w.kind,
        reason: w.reason,
        ...(w.loop ? { loop: w.loop } : {}),
      });
  const control = await readControl(runtimeDir);
  let plugins: PluginSet | undefined;
  for (const task of tasks) {
    if (reasons.has(task.id)) continue;
    const fromStore = storeHoldup(task, store, now);
    if (fromStore) {
      reasons.set(task.id, { source: 'store', ...fromStore });
      continue;
    }
    if (!config) continue;
    plugins ??= await loadAllPlugins(config);
    const holdup = configHoldup(task, { config, control, plugins, store, now });
    if (holdup) reasons.set(task.id, { source: 'config', ...holdup });
  }
  return reasons;
}

/** Imported only when a task needs admission's answer (most lists need none). */
async function loadAllPlugins(config: YggConfig): Promise<PluginSet> {
  const { builtinPluginDir, loadPlugins } = await import('../plugins/loader.js');
  return loadPlugins([builtinPluginDir(), ...config.pluginDirs]);
}
