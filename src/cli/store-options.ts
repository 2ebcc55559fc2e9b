import type { Command } from 'commander';
import { storeProblemReporter } from '../app/store-problems.js';
import type { BeadsJsonlStore } from '../store/beads-jsonl/beads-store.js';
import { openStore } from '../store/open.js';

/** Options every store command takes. */
export interface StoreCommandOptions {
  /** `--store PATH` (else YGG_STORE, else `.beads/issues.jsonl` found upward from cwd). */
  store?: string;
  cwd?: string;
}

export function withStoreOption(command: Command): Command {
  return command.option(
    '--store <path>',
    'the Beads file (default: YGG_STORE, else .beads/issues.jsonl found upward)',
  );
}

/** Opens the store, runs `fn`, and always closes it (which waits for its writes). */
export async function usingStore<T>(
  options: StoreCommandOptions,
  fn: (store: BeadsJsonlStore) => Promise<T>,
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
