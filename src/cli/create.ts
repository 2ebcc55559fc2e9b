import { type Command, InvalidArgumentError } from 'commander';
import type { NewTask } from '../store/store.js';
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

/** Adds N workload tasks in one go (one commit) and returns their ids. */
export async function createCommand(options: CreateOptions): Promise<string[]> {
  return usingStore(options, async (store) => {
    const adds = Array.from({ length: options.count }, (_, i) => store.add(workloadTask(i, options)));
    return (await Promise.all(adds)).map((t) => t.id);
  });
}

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
      .option('--as <name>', 'who submits them (created_by)'),
  ).action(async (count: number, flags: StoreCommandOptions & { simulate?: boolean; as?: string }) => {
    const ids = await createCommand({ ...flags, count });
    for (const id of ids) process.stdout.write(`${id}\n`);
  });
}
