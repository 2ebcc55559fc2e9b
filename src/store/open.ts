import { resolve } from 'node:path';
import { BeadsJsonlStore, type BeadsStoreOptions } from './beads-jsonl/beads-store.js';
import { locateStore } from './beads-jsonl/locate.js';
import { configuredStore } from './configured.js';
import { isPostgresUrl } from './postgres/url.js';
import type { TaskStore } from './store.js';

export interface OpenStoreOptions extends Partial<Omit<BeadsStoreOptions, 'path'>> {
  /**
   * `--store PATH|URL`; else `YGG_STORE`; else `store:` from hosts.yaml (`configured`); else
   * `.beads/issues.jsonl` found walking up from `cwd`. A `postgres://` URL is the PostgreSQL store.
   */
  path?: string;
  /** `store:` in hosts.yaml, used after `--store` and `YGG_STORE` (default: read from the hosts.yaml found). */
  configured?: string;
  /** `--config`, where the command has one (for `store:`). */
  configPath?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** PostgreSQL store: told once when the database goes away and when it is back. */
  onConnection?: (state: 'lost' | 'back', where: string) => void;
}

/** The store URL or path that applies, in the order above (undefined: walk up to `.beads/`). */
export function chosenStore(options: OpenStoreOptions): string | undefined {
  const env = options.env ?? process.env;
  if (options.path) return options.path;
  if (env.YGG_STORE) return env.YGG_STORE;
  if (options.configured) return options.configured;
  return configuredStore({
    cwd: options.cwd ?? process.cwd(),
    env,
    ...(options.configPath ? { configPath: options.configPath } : {}),
  });
}

/** Finds and opens the store (a Beads JSONL file, or PostgreSQL). Throws a YggError with a hint. */
export async function openStore(options: OpenStoreOptions = {}): Promise<TaskStore> {
  const { path, cwd, env, configured, configPath, onConnection, ...rest } = options;
  const given = chosenStore(options);
  if (isPostgresUrl(given)) {
    // Loaded only for a database: the driver is no part of a JSONL command's start-up.
    const { PostgresStore } = await import('./postgres/postgres-store.js');
    return PostgresStore.open({
      url: given,
      runtimeDir: rest.runtimeDir ?? resolve(cwd ?? process.cwd(), '.ygg'),
      ...(rest.pollIntervalMs !== undefined ? { pollIntervalMs: rest.pollIntervalMs } : {}),
      ...(rest.clock ? { clock: rest.clock } : {}),
      ...(onConnection ? { onConnection } : {}),
    });
  }
  const location = locateStore({
    store: given,
    ...(cwd !== undefined ? { cwd } : {}),
    ...(env !== undefined ? { env: { ...env, YGG_STORE: undefined } } : { env: { YGG_STORE: undefined } }),
  });
  return BeadsJsonlStore.open({
    ...rest,
    path: location.path,
    runtimeDir: rest.runtimeDir ?? location.runtimeDir,
  });
}

export { BeadsJsonlStore } from './beads-jsonl/beads-store.js';
export { locateStore, runtimeDirFor } from './beads-jsonl/locate.js';
