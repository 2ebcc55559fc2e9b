import type { Command } from 'commander';
import { retryTask } from '../dispatch/operator.js';
import { openStore } from '../store/open.js';
import type { CommonOptions } from './runtime.js';

/** Sends a dead-lettered task back to the queue with a fresh count of attempts. */
export async function retryCommand(id: string, options: CommonOptions): Promise<string> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const task = await retryTask(store, id);
  return `${task.id} back in the queue`;
}

export function register(program: Command): void {
  program
    .command('retry')
    .description('send a dead-lettered task back to the queue')
    .argument('<id>', 'task id')
    .option('--store <path>', 'the Beads file')
    .action(async (id: string, flags: CommonOptions) => {
      process.stdout.write(`${await retryCommand(id, flags)}\n`);
    });
}
