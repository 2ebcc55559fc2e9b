import { BeadsJsonlStore, type BeadsStoreOptions } from './beads-jsonl/beads-store.js';
import { locateStore } from './beads-jsonl/locate.js';

export interface OpenStoreOptions extends Partial<Omit<BeadsStoreOptions, 'path'>> {
  /** `--store PATH`; else `YGG_STORE`; else `.beads/issues.jsonl` found walking up from `cwd`. */
  path?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Finds and opens the default store (a Beads JSONL file). Throws a YggError with a hint. */
export async function openStore(options: OpenStoreOptions = {}): Promise<BeadsJsonlStore> {
  const { path, cwd, env, ...rest } = options;
  const location = locateStore({
    store: path,
    ...(cwd !== undefined ? { cwd } : {}),
    ...(env !== undefined ? { env } : {}),
  });
  return BeadsJsonlStore.open({
    ...rest,
    path: location.path,
    runtimeDir: rest.runtimeDir ?? location.runtimeDir,
  });
}

export { BeadsJsonlStore } from './beads-jsonl/beads-store.js';
export { locateStore, runtimeDirFor } from './beads-jsonl/locate.js';
