import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { classifyType } from '../config/type-rules.js';
import type { YggConfig } from '../config/types.js';
import { durationTextHint, parseDurationText } from '../config/units.js';
import { type ControlPlace, readControl } from '../dispatch/control.js';
import { noSuchTask, UsageError, YggError } from '../errors.js';
import { readSeenModels } from '../hosts/model/local-models.js';
import { type QueuePlace, queuePlace } from '../schedule/position.js';
import type { NewTask } from '../store/store.js';
import type { Task } from '../store/task.js';
import { plural } from '../text/plural.js';
import { commitAdds } from './add-commit.js';
import { cachedConfig } from './add-config.js';
import { modelWarning } from './add-model-check.js';
import { type StoreCommandOptions, usingStore } from './store-options.js';

export interface AddOptions extends StoreCommandOptions {
  title: string;
  type?: string;
  priority?: number;
  labels?: string[];
  description?: string;
  blockedBy?: string[];
  handler?: string;
  /** Command for the shell handler (what follows `--`). */
  argv?: string[];
  /** How long the simulate handler pretends to work (`metadata.ygg.simulate_ms`). */
  simulateMs?: number;
  /** Soft and hard timeouts and attempt limit for this task, over its type's. */
  timeoutMs?: number;
  hardTimeoutMs?: number;
  attempts?: number;
  /** Submitter name (`created_by`); default the login name. */
  as?: string;
  /** hosts.yaml with the queue limits (default: found as every command finds it). */
  config?: string;
}

/** A task `ygg add` queued, and its place in the queue. */
export interface AddedTask {
  task: Task;
  place?: QueuePlace;
  /** Problems that did not stop the add (an unreadable hosts.yaml: limits not checked). */
  warnings: string[];
}

/** The NewTask `ygg add` writes: `--type` as a label, handler and argv under `metadata.ygg`. */
export function newTaskFrom(options: AddOptions): NewTask {
  checkTimeouts(options);
  const labels = [...(options.labels ?? []), ...(options.type ? [options.type] : [])];
  const ygg: Record<string, unknown> = {};
  if (options.handler) ygg.handler = options.handler;
  if (options.argv && options.argv.length > 0) {
    // A command means the shell handler, unless another one was asked for.
    ygg.handler ??= 'shell';
    ygg.argv = options.argv;
  }
  if (options.simulateMs !== undefined) {
    // A simulated time means the simulate handler, unless another one was asked for.
    ygg.handler ??= 'simulate';
    ygg.simulate_ms = options.simulateMs;
  }
  if (options.timeoutMs !== undefined) ygg.timeout_ms = options.timeoutMs;
  if (options.hardTimeoutMs !== undefined) ygg.hard_timeout_ms = options.hardTimeoutMs;
  if (options.attempts !== undefined) ygg.attempts = options.attempts;
  const task: NewTask = {
    title: options.title,
    priority: options.priority ?? 2,
    created_by: options.as || safeUserName(),
  };
  if (labels.length > 0) task.labels = labels;
  if (options.description) task.description = options.description;
  if (options.blockedBy?.length)
    task.dependencies = options.blockedBy.map((id) => ({ depends_on_id: id, type: 'blocks' }));
  if (Object.keys(ygg).length > 0) task.metadata = { ygg };
  return task;
}

export function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'ygg';
  }
}

/** The handler a new task names (`--handler`, or shell for a command, simulate for --simulate-ms). */
export function handlerOf(task: NewTask): { handler?: string } {
  const ygg = task.metadata?.ygg as { handler?: unknown } | undefined;
  return typeof ygg?.handler === 'string' ? { handler: ygg.handler } : {};
}

/** Timeouts hosts.yaml would refuse are refused here too: zero, or a hard one before the soft one. */
function checkTimeouts({ timeoutMs, hardTimeoutMs }: AddOptions): void {
  if (timeoutMs === 0)
    throw new UsageError('--timeout 0 would end every attempt at once; give a duration such as 5m');
  if (hardTimeoutMs === 0)
    throw new UsageError('--hard-timeout 0 would kill every attempt at once; give a duration');
  if (timeoutMs !== undefined && hardTimeoutMs !== undefined && hardTimeoutMs < timeoutMs)
    throw new UsageError('--hard-timeout must not be shorter than --timeout', {
      hint: 'The soft timeout asks the handler to stop; the hard one kills the work after it.',
    });
}

/** A handler asked for by name must exist (built in, or in hosts.yaml's plugin folders) and get what it needs. */
async function checkHandler(options: AddOptions, config: YggConfig | undefined): Promise<void> {
  const handler = options.handler ?? (options.argv?.length ? 'shell' : undefined);
  if (handler === 'shell' && !options.argv?.length) {
    throw new UsageError('the shell handler needs the command to run after --', {
      hint: 'For example: ygg add "list the work dir" --handler shell -- ls -l',
    });
  }
  if (!options.handler) return;
  // Plugins are imported only when a handler is named: most adds name none.
  const { builtinPluginDir, loadPlugins } = await import('../plugins/loader.js');
  const plugins = await loadPlugins([builtinPluginDir(), ...(config?.pluginDirs ?? [])]);
  if (plugins.byName.has(options.handler)) return;
  throw new YggError(`no handler plugin named ${options.handler}`, {
    hint: `Known: ${[...plugins.byName.keys()].sort().join(', ')}. Custom ones go in a folder listed under plugins: in hosts.yaml.`,
  });
}

/** Adds one task and returns it (its id is bd's hash form with the file's prefix). */
export async function addCommand(options: AddOptions): Promise<Task> {
  return (await addToQueue(options)).task;
}

/**
 * Adds one task unless the queue is full (`queue.max_size`, `queue.max_per_submitter`, checked
 * under the store's write lock: refused, nothing is written and a QueueFullError is thrown),
 * then tells its place in the queue.
 */
export async function addToQueue(options: AddOptions): Promise<AddedTask> {
  return usingStore(options, async (store) => {
    const warnings: string[] = [];
    const config = await queueConfigOrWarning(options, store, warnings);
    const input = newTaskFrom(options);
    await checkHandler(options, config);
    if (config) {
      const seen = readSeenModels(store.runtimeDir);
      const unrunnable = modelWarning({ task: input, ...handlerOf(input), config, seen });
      if (unrunnable) warnings.push(unrunnable);
    }
    for (const id of options.blockedBy ?? []) {
      if (!store.get(id)) {
        throw noSuchTask(id, store.path, `--blocked-by ${id}: no such task`);
      }
    }
    const [written] = await commitAdds(store, [input], config?.queue, false);
    if (written?.status !== 'fulfilled') throw written?.reason;
    const task = written.value;
    const paused = await pausedNote(store, 1);
    if (paused) warnings.push(paused);
    if (!config) return { task, warnings };
    const queue = config.queue;
    const place = queuePlace(task.id, store, queue, config.types, (t) => classifyType(t, config));
    return { task, place, warnings };
  });
}

/**
 * hosts.yaml for the queue limits: `--config`, else the one found beside the store's `.beads/`
 * (for a database store, which has no folder: from the current folder, as every command finds it).
 */
export async function queueConfig(
  options: Pick<AddOptions, 'config' | 'cwd'>,
  store: { path: string; runtimeDir: string },
): Promise<YggConfig> {
  return cachedConfig({
    ...(options.config ? { configPath: options.config } : {}),
    cwd: options.config || store.path.includes('://') ? (options.cwd ?? process.cwd()) : dirname(store.path),
    runtimeDir: store.runtimeDir,
  });
}

/** The queue's hosts.yaml, or undefined with a warning saying the limits went unchecked. */
export async function queueConfigOrWarning(
  options: Pick<AddOptions, 'config' | 'cwd'>,
  store: Parameters<typeof queueConfig>[1],
  warnings: string[],
): Promise<YggConfig | undefined> {
  try {
    return await queueConfig(options, store);
  } catch (error) {
    warnings.push(
      `hosts.yaml could not be read, so queue limits were not checked: ${(error as Error).message}`,
    );
    return undefined;
  }
}

export function parsePriority(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 0 || n > 4) {
    throw new InvalidArgumentError('use 0 (critical), 1, 2 (medium), 3 or 4 (backlog).');
  }
  return n;
}

/** A duration flag: `250ms`, `30s`, `5m`, `1h`; a bare number is seconds, as in hosts.yaml. */
export function parseDuration(value: string): number {
  try {
    return parseDurationText(value, 'seconds');
  } catch {
    throw new InvalidArgumentError(`${durationTextHint('seconds')}.`);
  }
}

/** A flag whose name ends in `-ms`: a bare number is milliseconds; a unit may still be given. */
export function parseMilliseconds(value: string): number {
  try {
    return parseDurationText(value, 'milliseconds');
  } catch {
    throw new InvalidArgumentError(`${durationTextHint('milliseconds')}.`);
  }
}

export function parseAttempts(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('use a whole number, 1 or more.');
  return n;
}

/**
 * What `ygg add` and `ygg create` say when the queue is paused: the task is in, but no loop
 * starts it until `ygg resume`. Without it, a paused queue looks like a stuck one.
 */
export async function pausedNote(store: ControlPlace, added: number): Promise<string | undefined> {
  if (!(await readControl(store)).paused) return undefined;
  const what = added === 1 ? 'the task waits' : `the ${plural(added, 'task')} wait`;
  return `the queue is paused: ${what} until \`ygg resume\``;
}
