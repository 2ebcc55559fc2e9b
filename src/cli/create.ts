import { dirname } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { openConfig } from '../app/config.js';
import { ExitError } from '../errors.js';
import {
  hasQueueLimits,
  QueueFullError,
  queuedStatuses,
  queueFullExitCode,
  refusal,
} from '../schedule/backpressure.js';
import type { NewTask } from '../store/store.js';
import { plural } from '../text/plural.js';
import { pausedNote, safeUserName } from './add-task.js';
import { type StoreCommandOptions, usingStore, withStoreOption } from './store-options.js';

export interface CreateOptions extends StoreCommandOptions {
  count: number;
  /** Give each task a simulated model time, run by the `simulate` handler. */
  simulate?: boolean;
  as?: string;
}

/** The Python dispatcher's workload types and their simulated model times (1 unit = 10 ms). */
export const workloadKinds = [
  { type: 'code-generation', title: 'code: write a function that parses a config file', simulateMs: 300 },
  { type: 'text-processing', title: 'Extract the key points from a meeting transcript', simulateMs: 200 },
  { type: 'reasoning', title: 'Analyze why the nightly build got slower', simulateMs: 400 },
] as const;

/** Task `i` of the workload: types in turn, priorities 0..3 spread over them. */
export function workloadTask(i: number, options: { simulate?: boolean; as?: string } = {}): NewTask {
  const kind = workloadKinds[i % workloadKinds.length] as (typeof workloadKinds)[number];
  const task: NewTask = {
    title: `${kind.title} (#${i + 1})`,
    priority: Math.floor(i / workloadKinds.length) % 4,
    labels: [kind.type],
  };
  if (options.as) task.created_by = options.as;
  if (options.simulate) task.metadata = { ygg: { handler: 'simulate', simulate_ms: kind.simulateMs } };
  return task;
}

/**
 * Adds N workload tasks in one go (one commit) and returns their ids. Queue limits hold as for
 * `ygg add`: the tasks that fit are added, then a QueueFullError says why the rest were not.
 */
export async function createCommand(options: CreateOptions): Promise<string[]> {
  return (await createTasks(options)).ids;
}

/** The ids added, and what to say when no loop will start them yet (the queue is paused). */
export async function createTasks(options: CreateOptions): Promise<{ ids: string[]; warnings: string[] }> {
  return usingStore(options, async (store) => {
    const queue = await openConfig({ cwd: dirname(store.path) })
      .then((found) => found.config.queue)
      .catch(() => undefined);
    const submitter = options.as ?? safeUserName();
    const adds = Array.from({ length: options.count }, (_, i) => {
      const task = { ...workloadTask(i, options), created_by: submitter };
      if (queue && hasQueueLimits(queue))
        task.precondition = (current) => refusal(current.tasks(queuedStatuses), submitter, queue);
      return store.add(task);
    });
    const settled = await Promise.allSettled(adds);
    const ids = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value.id] : []));
    const refused = settled.find((s) => s.status === 'rejected');
    if (refused) throw new PartlyCreated(ids, options.count, refused.reason);
    const paused = await pausedNote(store, ids.length);
    return { ids, warnings: paused ? [paused] : [] };
  });
}

/** Some tasks were added before a queue limit (or another error) refused the rest. */
export class PartlyCreated extends Error {
  constructor(
    readonly ids: string[],
    readonly wanted: number,
    override readonly cause: unknown,
  ) {
    super(`added ${ids.length} of ${plural(wanted, 'task')}: ${(cause as Error).message}`);
  }
}

type CreateFlags = StoreCommandOptions & { simulate?: boolean; as?: string; json?: boolean };

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 1_000_000)
    throw new InvalidArgumentError('give a count from 1 to 1000000.');
  return n;
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command('create')
      .description(
        "add N tasks of the Python dispatcher's test workload (code, text, reasoning; priorities 0-3)",
      )
      .argument('<n>', 'how many tasks', parseCount)
      .option('--simulate', 'give each a simulated model time (code 300 ms, text 200 ms, reasoning 400 ms)')
      .option('--as <name>', 'who submits them (created_by)')
      .option('--json', 'print {ids} as one JSON object instead of one id a line'),
  ).action(async (count: number, flags: CreateFlags) => {
    const print = (ids: readonly string[]) =>
      process.stdout.write(flags.json ? `${JSON.stringify({ ids })}\n` : ids.map((id) => `${id}\n`).join(''));
    try {
      const { ids, warnings } = await createTasks({ ...flags, count });
      print(ids);
      for (const warning of warnings) process.stderr.write(`ygg: ${warning}\n`);
    } catch (error) {
      if (!(error instanceof PartlyCreated)) throw error;
      print(error.ids);
      const hint = (error.cause as { hint?: string }).hint;
      process.stderr.write(`ygg: ${error.message}${hint ? `\n  ${hint}` : ''}\n`);
      throw new ExitError(error.cause instanceof QueueFullError ? queueFullExitCode : 1, error.message);
    }
  });
}
