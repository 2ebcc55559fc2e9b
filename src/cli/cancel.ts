import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { cancelTask } from '../dispatch/operator.js';
import { openStore } from '../store/open.js';
import { statusOf } from '../store/task.js';
import type { CommonOptions } from './runtime.js';
import { storeOptionHelp } from './store-help.js';

/** A task after `ygg cancel`, as `--json` prints it. */
export interface CancelResult {
  id: string;
  status: string;
  close_reason: string;
}

/** Closes a task with reason `cancelled`; a loop running it aborts its handler within a second. */
export async function cancelCommand(
  id: string,
  options: CommonOptions & { by?: string },
): Promise<CancelResult> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const task = await cancelTask(store, id, options.by ?? userInfo().username);
  return { id: task.id, status: statusOf(task), close_reason: task.close_reason ?? 'cancelled' };
}

export function register(program: Command): void {
  program
    .command('cancel')
    .description('cancel a task: close it as cancelled, aborting it if it runs')
    .argument('<id>', 'task id')
    .option('--store <path|url>', storeOptionHelp)
    .option('--json', 'print {id, status, close_reason} as one JSON object')
    .action(async (id: string, flags: CommonOptions & { json?: boolean }) => {
      const result = await cancelCommand(id, flags);
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${result.id} cancelled\n`);
    });
}
