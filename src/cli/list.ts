import { dirname } from 'node:path';
import { type Command, Option } from 'commander';
import { openConfig } from '../app/config.js';
import { withStoreSlots } from '../app/database-hosts.js';
import { storeHoldup } from '../dispatch/waiting.js';
import { UsageError } from '../errors.js';
import type { TaskStore } from '../store/store.js';
import { priorityOf, statusOf, type Task, yggOf } from '../store/task.js';
import { parseMicros } from '../store/timestamps.js';
import { knownTypes, listStatuses } from './list-filters.js';
import { readyOrHeld, type WaitReason, waitReasons } from './list-reasons.js';
import { type StoreCommandOptions, usingStore, withStoreOption } from './store-options.js';
import { type TaskView, taskRow, viewOf } from './task-view.js';

export interface ListOptions extends StoreCommandOptions {
  ready?: boolean;
  config?: string;
  status?: string;
  type?: string;
}

/** The ready order for any task: priority, oldest `created_at` (missing last), id. */
function compareTasks(a: Task, b: Task): number {
  const ca = parseMicros(a.created_at) ?? Number.POSITIVE_INFINITY;
  const cb = parseMicros(b.created_at) ?? Number.POSITIVE_INFINITY;
  return (
    priorityOf(a) - priorityOf(b) ||
    (ca === cb ? 0 : ca < cb ? -1 : 1) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/** Tasks in ready order (priority, oldest, id): the ready set with --ready, else all issues. */
export async function listCommand(options: ListOptions): Promise<TaskView[]> {
  return usingStore(options, async (store) => {
    // hosts.yaml gives the type rules and, for --ready, why a task waits; the list stands without it.
    const config = await openConfig({
      ...(options.config ? { config: options.config } : {}),
      cwd: options.config ? (options.cwd ?? process.cwd()) : dirname(store.path),
    })
      .then((found) => withStoreSlots(found.config, store))
      .catch(() => undefined);
    const now = Date.now();
    let tasks: readonly Task[] = options.ready ? readyOrHeld(store, now) : store.list();
    const typeOf = (task: Task) => viewOf(task, config).type;
    if (options.type) {
      const known = knownTypes(config, store.list().map(typeOf));
      if (!known.includes(options.type))
        throw new UsageError(`no type ${options.type} here: use one of ${known.join(', ')}`, {
          hint: 'see `ygg list --help`; the types come from hosts.yaml and the tasks in the store',
        });
      tasks = tasks.filter((t) => typeOf(t) === options.type);
    }
    if (!options.ready) tasks = [...tasks].sort(compareTasks);
    const reasons: Map<string, WaitReason> = options.ready
      ? await waitReasons(tasks, store.runtimeDir, config, store, now)
      : storeReasons(tasks, store, now);
    const views = tasks.map((task) => {
      const view: TaskView = viewOf(task, config);
      const state = displayState(task, reasons.get(task.id));
      if (state) view.state = state;
      const waiting = reasons.get(task.id);
      if (!waiting) return view;
      return {
        ...view,
        waiting: waiting.reason,
        waiting_kind: waiting.kind,
        ...(waiting.loop ? { waiting_loop: waiting.loop } : {}),
      };
    });
    // A status filter matches the status, or the state the column shows in its place (`dead`).
    const status = options.status;
    return status ? views.filter((v) => statusOf(v) === status || v.state === status) : views;
  });
}

/** Plain `list`: the store's reasons (blockers, defer, retry time), no loop asked. */
function storeReasons(
  tasks: readonly Task[],
  store: Pick<TaskStore, 'get'>,
  now: number,
): Map<string, WaitReason> {
  const reasons = new Map<string, WaitReason>();
  for (const task of tasks) {
    const holdup = storeHoldup(task, store, now);
    if (holdup) reasons.set(task.id, { source: 'store', ...holdup });
  }
  return reasons;
}

/** What the status column shows when the status alone would mislead: a dead letter, a held task. */
function displayState(task: Task, waiting: WaitReason | undefined): string | undefined {
  if (yggOf(task).dead) return 'dead';
  if (statusOf(task) !== 'open' || !waiting) return undefined;
  if (waiting.kind === 'held') return 'held';
  if (waiting.kind === 'blocked') return 'waiting';
  if (waiting.kind === 'deferred') return 'deferred';
  return undefined;
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command('list')
      .description('list tasks in ready order (priority, oldest, id)')
      .option('--ready', 'only tasks ready to run, by bd rules')
      .addOption(
        new Option(
          '--status <status>',
          'only tasks with this status, or this state (dead, held, waiting)',
        ).choices(listStatuses),
      )
      .option('--type <type>', 'only tasks of this type (as the list shows it)')
      .option(
        '--config <path>',
        'hosts.yaml for the type rules and routing (default: found as for `ygg loop`)',
      )
      .option('--json', 'print one JSON array of task objects'),
  ).action(async (flags: ListOptions & { json?: boolean }) => {
    const tasks = await listCommand(flags);
    if (flags.json) process.stdout.write(`${JSON.stringify(tasks)}\n`);
    else for (const task of tasks) process.stdout.write(`${taskRow(task)}\n`);
  });
}
