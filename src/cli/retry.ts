import type { Command } from 'commander';
import { retryTask } from '../dispatch/operator.js';
import { openStore } from '../store/open.js';
import { statusOf } from '../store/task.js';
import type { CommonOptions } from './runtime.js';
import { storeOptionHelp } from './store-help.js';

/** A task after `ygg retry`, as `--json` prints it. */
export interface RetryResult {
  id: string;
  status: string;
}

/** Sends a dead-lettered task back to the queue with a fresh count of attempts. */
export async function retryCommand(id: string, options: CommonOptions): Promise<RetryResult> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const task = await retryTask(store, id);
  return { id: task.id, status: statusOf(task) };
}

export function register(program: Command): void {
  program
    .command('retry')
    .description('send a dead-lettered task back to the queue')
    .argument('<id>', 'task id')
    .option('--store <path|url>', storeOptionHelp)
    .option('--json', 'print {id, status} as one JSON object')
    .action(async (id: string, flags: CommonOptions & { json?: boolean }) => {
      const result = await retryCommand(id, flags);
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${result.id} back in the queue\n`);
    });
}
