/**
 * Why each task waits, for `ygg list --ready` and `ygg position`: one reason per task, from the
 * dispatcher's own decisions. The running loops' (merged; they know which hosts are down and
 * which slots are taken) when they gave one; else the store's (a blocker that ended dead or
 * cancelled, or is still open, a defer, a retry time); else admission's `decide` over hosts.yaml,
 * the operator switches and the plugins, as a loop would decide with every host up and idle.
 */

import type { YggConfig } from '../config/types.js';
import type { Holdup } from '../dispatch/admission.js';
import { configHoldup } from '../dispatch/config-admission.js';
import { readControl } from '../dispatch/control.js';
import { reportedKinds, storeHoldup } from '../dispatch/waiting.js';
import { type StatusSnapshot, snapshotLimits } from '../observe/snapshot.js';
import { taskType } from '../observe/task-type.js';
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
  store: Pick<TaskStore, 'get' | 'sharedState' | 'dispatchers'>,
  now = Date.now(),
  options: { askLoops?: boolean; plugins?: PluginSet } = {},
): Promise<Map<string, WaitReason>> {
  const reasons = new Map<string, WaitReason>();
  const snapshot =
    options.askLoops === false
      ? undefined
      : await liveSnapshot({ runtimeDir, dispatchers: store.dispatchers });
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
  const control = await readControl(
    store.sharedState ? { runtimeDir, sharedState: store.sharedState } : runtimeDir,
  );
  let plugins = options.plugins;
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

const loaded = new Map<string, Promise<PluginSet>>();

/** Imported only when a task needs admission's answer (most lists need none); once per process (the monitor asks every second). */
function loadAllPlugins(config: YggConfig): Promise<PluginSet> {
  const key = JSON.stringify(config.pluginDirs);
  let plugins = loaded.get(key);
  if (!plugins) {
    plugins = import('../plugins/loader.js').then(({ builtinPluginDir, loadPlugins }) =>
      loadPlugins([builtinPluginDir(), ...config.pluginDirs]),
    );
    loaded.set(key, plugins);
  }
  return plugins;
}

/**
 * bd's ready tasks, then the open ones it does not call ready because a blocker ended dead: ygg
 * holds those for good, and `list --ready` says so rather than hide them.
 */
export function readyOrHeld(store: Pick<TaskStore, 'ready' | 'list' | 'get'>, now: number): Task[] {
  const ready = store.ready();
  const ids = new Set(ready.map((t) => t.id));
  const held = store
    .list(['open'])
    .filter((t) => !ids.has(t.id) && storeHoldup(t, store, now)?.kind === 'held');
  return [...ready, ...held];
}

/**
 * A store-only snapshot (no loop runs) given the same reasons `list --ready` gives: `waiting`
 * for every ready task that waits, `unroutable` for those not in line at all.
 */
export async function withStoreReasons(
  snapshot: StatusSnapshot,
  store: Pick<TaskStore, 'get' | 'ready' | 'list' | 'runtimeDir'>,
  config: YggConfig | undefined,
  plugins?: PluginSet,
): Promise<StatusSnapshot> {
  const ready = readyOrHeld(store, Date.now());
  const reasons = await waitReasons(ready, store.runtimeDir, config, store, Date.now(), {
    askLoops: false,
    ...(plugins ? { plugins } : {}),
  });
  const waiting = ready.flatMap((t) => {
    const w = reasons.get(t.id);
    return w ? [{ id: t.id, title: t.title, type: taskType(t, config), reason: w.reason, kind: w.kind }] : [];
  });
  snapshot.waiting = waiting.slice(0, snapshotLimits.waiting);
  snapshot.unroutable = waiting
    .filter((w) => reportedKinds.has(w.kind as Holdup['kind']))
    .slice(0, snapshotLimits.unroutable)
    .map(({ kind: _, ...task }) => task);
  return snapshot;
}
