import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { YggError } from '../errors.js';
import type { NewTask } from '../store/store.js';
import type { Task } from '../store/task.js';
import { type StoreCommandOptions, usingStore, withStoreOption } from './store-options.js';

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
  /** Submitter name (`created_by`); default the login name. */
  as?: string;
}

/** The NewTask `ygg add` writes: `--type` as a label, handler and argv under `metadata.ygg`. */
export function newTaskFrom(options: AddOptions): NewTask {
  const labels = [...(options.labels ?? []), ...(options.type ? [options.type] : [])];
  const ygg: Record<string, unknown> = {};
  if (options.handler) ygg.handler = options.handler;
  if (options.argv && options.argv.length > 0) ygg.argv = options.argv;
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

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'ygg';
  }
}

/** Adds one task and returns it (its id is bd's hash form with the file's prefix). */
export async function addCommand(options: AddOptions): Promise<Task> {
  return usingStore(options, async (store) => {
    for (const id of options.blockedBy ?? []) {
      if (!store.get(id)) {
        throw new YggError(`--blocked-by ${id}: no such task in ${store.path}`, {
          hint: 'Check the id with `ygg list`.',
        });
      }
    }
    return store.add(newTaskFrom(options));
  });
}

export function parsePriority(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 0 || n > 4) {
    throw new InvalidArgumentError('use 0 (critical), 1, 2 (medium), 3 or 4 (backlog).');
  }
  return n;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  withStoreOption(
    program
      .command('add')
      .description('add a task; prints its id')
      .argument('<title>', 'the task title')
      .argument('[argv...]', 'after --: the command the shell handler runs (an argv, never a shell string)')
      .option('--type <type>', 'the task type (stored as a label)')
      .option('--priority <n>', 'priority 0 (critical) .. 4 (backlog)', parsePriority)
      .option('--label <label>', 'a label (repeatable)', collect)
      .option('--description <text>', 'the description')
      .option('--blocked-by <id>', 'a task that must close first (repeatable)', collect)
      .option('--handler <name>', 'the handler plugin to run it')
      .option('--as <name>', 'who submits it (created_by); default the login name'),
  ).action(async (title: string, argv: string[], flags: Record<string, unknown>) => {
    const task = await addCommand({
      title,
      argv,
      ...(flags.store ? { store: flags.store as string } : {}),
      ...(flags.type ? { type: flags.type as string } : {}),
      ...(flags.priority !== undefined ? { priority: flags.priority as number } : {}),
      ...(flags.label ? { labels: flags.label as string[] } : {}),
      ...(flags.description ? { description: flags.description as string } : {}),
      ...(flags.blockedBy ? { blockedBy: flags.blockedBy as string[] } : {}),
      ...(flags.handler ? { handler: flags.handler as string } : {}),
      ...(flags.as ? { as: flags.as as string } : {}),
    });
    process.stdout.write(`${task.id}\n`);
  });
}
