/**
 * hosts.yaml for `ygg add`, remembered in the store's runtime folder: checking the file (YAML,
 * then the schema) costs more than the rest of an add, and the file rarely changes between adds.
 * The copy is used only while the file has the same identity, size and times, and ygg's config
 * code is the same build; anything else reads and checks the file again (a bad file throws, as
 * ever, and is never remembered). The copy is a cache: losing it costs one full read. Checks of
 * other files hosts.yaml names (key files, plugin folders) are not repeated on a hit: an add uses
 * only the queue limits, the types and the plugin folders, and `ygg loop` checks the file itself.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { version } from '../app/version.js';
import { findConfigPath } from '../config/discover.js';
import type { YggConfig } from '../config/types.js';

const cacheName = 'hosts-config-cache.json';

/** The config for an add: `configPath` (else found from `cwd`), from the cache when still valid. */
export async function cachedConfig(options: {
  configPath?: string;
  cwd: string;
  runtimeDir: string;
}): Promise<YggConfig> {
  const found = findConfigPath({
    ...(options.configPath ? { configPath: options.configPath } : {}),
    cwd: options.cwd,
  });
  const key = cacheKey(found.path);
  const file = join(options.runtimeDir, cacheName);
  const cached = readCache(file);
  if (key && cached?.key === key) return cached.config;
  const { loadConfig, configOrThrow } = await import('../config/load.js');
  const { config } = configOrThrow(await loadConfig(found.path), found.path);
  if (key) writeCache(file, { key, config });
  return config;
}

interface CacheEntry {
  key: string;
  config: YggConfig;
}

/** What must not change for a remembered config to stay right; undefined when it cannot be told. */
function cacheKey(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return [version, codeStamp(), path, s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':');
  } catch {
    return undefined;
  }
}

/** The newest change to ygg's config code, so that a rebuilt schema never reads an old copy. */
function codeStamp(): string {
  const dir = new URL('../config/', import.meta.url);
  let newest = 0n;
  for (const name of readdirSync(dir)) {
    const mtime = statSync(new URL(name, dir), { bigint: true }).mtimeNs;
    if (mtime > newest) newest = mtime;
  }
  return String(newest);
}

function readCache(file: string): CacheEntry | undefined {
  try {
    const entry = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheEntry>;
    return typeof entry.key === 'string' && entry.config ? (entry as CacheEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole and renamed, so a reader sees the old copy or the new one; failures are ignored. */
function writeCache(file: string, entry: CacheEntry): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, file);
  } catch {
    // A read-only folder or a full disk: the next add reads hosts.yaml again.
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
