/** `store:` in hosts.yaml, read cheaply (only that key) for commands that open the store first. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { findConfigPath } from '../config/discover.js';
import { isPostgresUrl } from './postgres/url.js';

/**
 * The store named by the hosts.yaml this command would use (`--config`, YGG_CONFIG, beside
 * `.beads/`), or undefined. A path is relative to the file. A file that does not parse is left
 * to the command that loads it fully to report.
 */
export function configuredStore(options: {
  configPath?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}): string | undefined {
  let found: ReturnType<typeof findConfigPath>;
  try {
    found = findConfigPath({
      cwd: options.cwd,
      env: options.env,
      ...(options.configPath ? { configPath: options.configPath } : {}),
    });
  } catch {
    return undefined; // a missing file named by YGG_CONFIG: the command that loads it says so
  }
  if (found.source === 'default') return undefined;
  let store: unknown;
  try {
    const text = readFileSync(found.path, 'utf8');
    // Most files have no `store:` key: the YAML parser is loaded only for those that do, so that
    // a command like `ygg add` starts without it when its checked config is cached.
    if (!/^["']?store["']?\s*:/m.test(text)) return undefined;
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    const doc: unknown = parse(text);
    store = doc && typeof doc === 'object' ? (doc as { store?: unknown }).store : undefined;
  } catch {
    return undefined;
  }
  if (typeof store !== 'string' || store === '') return undefined;
  if (isPostgresUrl(store) || isAbsolute(store)) return store;
  return resolve(dirname(found.path), store);
}
