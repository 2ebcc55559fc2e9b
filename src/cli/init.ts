import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { YggError } from '../errors.js';
import { migrate } from '../store/postgres/migrate.js';
import { isPostgresUrl, redactUrl } from '../store/postgres/url.js';

export interface InitOptions {
  cwd?: string;
  /** A `postgres://` URL: create ygg's schema there instead of `.beads/issues.jsonl`. */
  store?: string;
}

export interface InitResult {
  /** Paths created or changed, relative to cwd. */
  done: string[];
  /** Paths that already existed and were left alone. */
  kept: string[];
}

const exists = async (path: string) =>
  stat(path).then(
    (s) => s,
    () => undefined,
  );

/** The `hosts.yaml` shipped at the package root (two folders up from src/cli, three from dist/src/cli). */
async function shippedHostsFile(): Promise<string | undefined> {
  for (const rel of ['../../hosts.yaml', '../../../hosts.yaml']) {
    const path = new URL(rel, import.meta.url).pathname;
    if ((await exists(path))?.isFile()) return path;
  }
  return undefined;
}

async function initBeadsFile(cwd: string, result: InitResult): Promise<void> {
  const file = join(cwd, '.beads', 'issues.jsonl');
  const found = await exists(file);
  if (found && !found.isFile()) {
    throw new YggError(`.beads/issues.jsonl in ${cwd} is not a file`, {
      hint: 'Move that folder away and run `ygg init` again.',
    });
  }
  if (found) result.kept.push('.beads/issues.jsonl');
  else {
    await mkdir(join(cwd, '.beads'), { recursive: true });
    await writeFile(file, '', { flag: 'wx' });
    result.done.push('.beads/issues.jsonl');
  }
}

/** Creates `.beads/issues.jsonl` (or the schema in PostgreSQL), copies the shipped `hosts.yaml`, git-ignores `.ygg/`: each only where missing. */
export async function initCommand(options: InitOptions = {}): Promise<InitResult> {
  const cwd = options.cwd ?? process.cwd();
  const result: InitResult = { done: [], kept: [] };
  if (isPostgresUrl(options.store)) {
    const migrated = await migrate(options.store);
    const where = `ygg schema version ${migrated.to} in ${redactUrl(options.store)}`;
    (migrated.applied.length > 0 ? result.done : result.kept).push(where);
  } else await initBeadsFile(cwd, result);
  const hosts = join(cwd, 'hosts.yaml');
  const shipped = await shippedHostsFile();
  if (await exists(hosts)) result.kept.push('hosts.yaml');
  else if (shipped && shipped !== hosts) {
    await copyFile(shipped, hosts);
    result.done.push('hosts.yaml');
  }
  const gitignore = join(cwd, '.gitignore');
  const text = await readFile(gitignore, 'utf8').catch(() => '');
  if (text.split(/\r?\n/).some((l) => ['.ygg', '.ygg/', '/.ygg', '/.ygg/'].includes(l.trim()))) {
    result.kept.push('.gitignore');
  } else {
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    await writeFile(gitignore, `${text}${sep}.ygg/\n`);
    result.done.push('.gitignore');
  }
  return result;
}

export function register(program: Command): void {
  program
    .command('init')
    .description(
      'create .beads/issues.jsonl, hosts.yaml and a .gitignore entry for .ygg/ here (each only if missing)',
    )
    .option('--store <url>', "a postgres:// URL: create ygg's schema in that database instead of .beads/")
    .option('--json', 'print {done, kept} as one JSON object')
    .action(async (flags: { store?: string; json?: boolean }) => {
      const result = await initCommand(flags.store ? { store: flags.store } : {});
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      for (const path of result.done) process.stdout.write(`created ${path}\n`);
      for (const path of result.kept) process.stdout.write(`kept ${path}\n`);
    });
}
