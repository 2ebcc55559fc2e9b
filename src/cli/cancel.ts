import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { cancelTask } from '../dispatch/operator.js';
import { openStore } from '../store/open.js';
import type { CommonOptions } from './runtime.js';

/** Closes a task with reason `cancelled`; a loop running it aborts its handler within a second. */
export async function cancelCommand(id: string, options: CommonOptions & { by?: string }): Promise<string> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const task = await cancelTask(store, id, options.by ?? userInfo().username);
  return `${task.id} cancelled`;
}

export function register(program: Command): void {
  program
    .command('cancel')
    .description('cancel a task: close it as cancelled, aborting it if it runs')
    .argument('<id>', 'task id')
    .option('--store <path>', 'the Beads file')
    .action(async (id: string, flags: CommonOptions) => {
      process.stdout.write(`${await cancelCommand(id, flags)}\n`);
    });
}
