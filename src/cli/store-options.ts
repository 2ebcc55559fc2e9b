import type { Command } from 'commander';
import { storeProblemReporter } from '../app/store-problems.js';
import { openStore } from '../store/open.js';
import type { TaskStore } from '../store/store.js';
import { storeOptionHelp } from './store-help.js';

/** Options every store command takes. */
export interface StoreCommandOptions {
  /** `--store PATH|URL` (else YGG_STORE, else `.beads/issues.jsonl` found upward from cwd). */
  store?: string;
  cwd?: string;
}

export function withStoreOption(command: Command): Command {
  return command.option('--store <path|url>', storeOptionHelp);
}

/** Opens the store, runs `fn`, and always closes it (which waits for its writes). */
export async function usingStore<T>(
  options: StoreCommandOptions,
  fn: (store: TaskStore) => Promise<T>,
): Promise<T> {
  const store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  storeProblemReporter(store, (text) => process.stderr.write(text))();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
