import { dirname } from 'node:path';
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { classifyType } from '../config/type-rules.js';
import { priorityOf, statusOf, type Task } from '../store/task.js';
import { parseMicros } from '../store/timestamps.js';
import { waitReasons } from './list-reasons.js';
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
      .then((found) => found.config)
      .catch(() => undefined);
    let tasks: readonly Task[] = options.ready ? store.ready() : store.list();
    if (options.status) tasks = tasks.filter((t) => statusOf(t) === options.status);
    if (options.type) tasks = tasks.filter((t) => classifyType(t, config) === options.type);
    if (!options.ready) tasks = [...tasks].sort(compareTasks);
    const reasons = options.ready ? await waitReasons(tasks, store.runtimeDir, config, store) : new Map();
    return tasks.map((task) => {
      const view = viewOf(task, config);
      const waiting = reasons.get(task.id);
      return waiting ? { ...view, waiting: waiting.reason } : view;
    });
  });
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command('list')
      .description('list tasks in ready order (priority, oldest, id)')
      .option('--ready', 'only tasks ready to run, by bd rules')
      .option('--status <status>', 'only tasks with this status')
      .option('--type <type>', 'only tasks of this type (by the type rules)')
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
