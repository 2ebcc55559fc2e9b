import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { YggError } from '../../errors.js';

export interface LocateOptions {
  /** `--store PATH`: the file, or a folder holding `.beads/` or named `.beads`. */
  store?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface StoreLocation {
  path: string;
  runtimeDir: string;
  /** How it was found. */
  via: 'option' | 'env' | 'walk';
}

const isDir = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** A path given by the user: a folder named `.beads`, or holding `.beads/`, means the file inside. */
function resolveGiven(given: string, cwd: string): string {
  const path = resolve(cwd, given);
  if (!isDir(path)) return path;
  if (basename(path) === '.beads') return join(path, 'issues.jsonl');
  if (isDir(join(path, '.beads'))) return join(path, '.beads', 'issues.jsonl');
  return path; // a folder where the file should be: reported when read
}

/** ygg's runtime folder: `.ygg/` beside `.beads/` (or beside the file when it is elsewhere). */
export function runtimeDirFor(storePath: string): string {
  const folder = dirname(storePath);
  return basename(folder) === '.beads' ? join(dirname(folder), '.ygg') : join(folder, '.ygg');
}

/** Finds the store as bd does: `--store`, then `YGG_STORE`, then walking up to a `.beads/` folder. */
export function locateStore(options: LocateOptions = {}): StoreLocation {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const found = (path: string, via: StoreLocation['via']): StoreLocation => ({
    path,
    runtimeDir: runtimeDirFor(path),
    via,
  });
  if (options.store) return found(resolveGiven(options.store, cwd), 'option');
  if (env.YGG_STORE) return found(resolveGiven(env.YGG_STORE, cwd), 'env');
  let dir = resolve(cwd);
  for (;;) {
    if (isDir(join(dir, '.beads'))) return found(join(dir, '.beads', 'issues.jsonl'), 'walk');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new YggError(`no Beads store found in ${cwd} or any folder above it`, {
    hint: 'Run `ygg init` here, pass --store PATH, or set YGG_STORE.',
  });
}

/** Whether a `.beads/` folder exists at `dir` (for `ygg init`). */
export function hasBeadsFolder(dir: string): boolean {
  return existsSync(join(dir, '.beads'));
}
