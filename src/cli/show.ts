import { dirname } from 'node:path';
import type { Command } from 'commander';
import { openConfig } from '../app/config.js';
import { noSuchTask } from '../errors.js';
import { type StoreCommandOptions, usingStore, withStoreOption } from './store-options.js';
import { type TaskView, taskText, viewOf } from './task-view.js';

export interface ShowOptions extends StoreCommandOptions {
  id: string;
}

export async function showCommand(options: ShowOptions): Promise<TaskView> {
  return usingStore(options, async (store) => {
    const task = store.get(options.id);
    if (!task) {
      throw noSuchTask(options.id, store.path);
    }
    // hosts.yaml's type rules name the type, as the loop would; the task stands without it.
    const config = await openConfig({ cwd: dirname(store.path) })
      .then((found) => found.config)
      .catch(() => undefined);
    return viewOf(task, config);
  });
}

export function register(program: Command): void {
  withStoreOption(
    program
      .command('show')
      .description('show one task')
      .argument('<id>', 'the task id')
      .option('--json', 'print the task as one JSON object'),
  ).action(async (id: string, flags: StoreCommandOptions & { json?: boolean }) => {
    const task = await showCommand({ ...flags, id });
    process.stdout.write(flags.json ? `${JSON.stringify(task)}\n` : `${taskText(task)}\n`);
  });
}
