/**
 * Where hosts.yaml comes from: `--config`, then `YGG_CONFIG`, then beside `.beads/`, then (where
 * no `.beads/` is above: a PostgreSQL store) the current folder, then the shipped default.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { YggError } from '../errors.js';

export type ConfigSource = 'flag' | 'env' | 'beads' | 'cwd' | 'default';

export interface FoundConfig {
  /** Absolute path of the file. */
  path: string;
  /** Which step of the search found it. */
  source: ConfigSource;
}

export interface FindConfigOptions {
  /** `--config PATH`, relative to `cwd`. */
  configPath?: string;
  /** Default: process.cwd(). */
  cwd?: string;
  /** Default: process.env (reads YGG_CONFIG). */
  env?: Record<string, string | undefined>;
}

const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** The package's own hosts.yaml (beside package.json; from src/config or dist/src/config). */
export function shippedConfigPath(): string {
  const candidates = ['../../hosts.yaml', '../../../hosts.yaml'].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
  const found = candidates.find(
    (path) => existsSync(path) && existsSync(join(dirname(path), 'package.json')),
  );
  if (!found)
    throw new YggError('the shipped hosts.yaml is missing from the ygg package', { hint: 'reinstall ygg' });
  return found;
}

/** The folder holding the nearest `.beads/` at or above `cwd`, if any. */
export function findBeadsRoot(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    if (isDirectory(join(dir, '.beads'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Finds the config file to use; a file named by the flag or the environment must exist. */
export function findConfigPath(options: FindConfigOptions = {}): FoundConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const named = (path: string, source: 'flag' | 'env', label: string): FoundConfig => {
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute)) throw new YggError(`${label} names ${absolute}, which does not exist`);
    return { path: absolute, source };
  };
  if (options.configPath) return named(options.configPath, 'flag', '--config');
  if (env.YGG_CONFIG) return named(env.YGG_CONFIG, 'env', 'YGG_CONFIG');
  const beadsRoot = findBeadsRoot(cwd);
  if (beadsRoot && existsSync(join(beadsRoot, 'hosts.yaml')))
    return { path: join(beadsRoot, 'hosts.yaml'), source: 'beads' };
  if (!beadsRoot && existsSync(join(cwd, 'hosts.yaml')))
    return { path: resolve(cwd, 'hosts.yaml'), source: 'cwd' };
  return { path: shippedConfigPath(), source: 'default' };
}
