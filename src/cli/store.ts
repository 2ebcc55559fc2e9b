/** `ygg store migrate|export|import`: a PostgreSQL store's schema and its bridge to bd's JSONL. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { YggError } from '../errors.js';
import { chosenStore } from '../store/open.js';
import { exportIssues, importIssues } from '../store/postgres/bridge.js';
import { migrate } from '../store/postgres/migrate.js';
import { isPostgresUrl, redactUrl } from '../store/postgres/url.js';
import { plural } from '../text/plural.js';

/** The PostgreSQL URL from `--store`, then YGG_STORE; a JSONL store has nothing to migrate or bridge. */
export function postgresUrl(store: string | undefined): string {
  const url = chosenStore(store ? { path: store } : {});
  if (!isPostgresUrl(url)) {
    throw new YggError('this command needs a PostgreSQL store', {
      hint: 'Pass --store postgres://HOST/DATABASE or set YGG_STORE (the password from PGPASSWORD or PGPASSFILE).',
    });
  }
  return url;
}

export async function migrateCommand(store?: string): Promise<string> {
  const url = postgresUrl(store);
  const result = await migrate(url);
  if (result.applied.length === 0) return `${redactUrl(url)}: schema version ${result.to}, up to date`;
  const steps = result.applied.map((m) => `  ${m.version}: ${m.name}`).join('\n');
  return `${redactUrl(url)}: schema version ${result.from} → ${result.to}\n${steps}`;
}

export async function exportCommand(to: string, store?: string): Promise<string> {
  const url = postgresUrl(store);
  const { issues } = await exportIssues(url, resolve(to));
  return `wrote ${plural(issues, 'issue')} to ${to}`;
}

export async function importCommand(from: string, store?: string): Promise<string> {
  const url = postgresUrl(store);
  const result = await importIssues(url, resolve(from));
  const lines = [
    `${from}: ${result.added} added, ${result.updated} updated, ${result.kept} kept (not newer than the database's)`,
    ...result.skipped.map((s) => `${from}:${s.line}: skipped: ${s.why}`),
  ];
  return lines.join('\n');
}

export function register(program: Command): void {
  const store = program
    .command('store')
    .description('a PostgreSQL store: schema migrations, and export/import of bd JSONL');
  const storeFlag = ['--store <url>', 'the postgres:// URL (default: YGG_STORE)'] as const;
  store
    .command('migrate')
    .description('apply pending schema migrations (stop the loops on the store first)')
    .option(...storeFlag)
    .action(async (flags: { store?: string }) => {
      process.stdout.write(`${await migrateCommand(flags.store)}\n`);
    });
  store
    .command('export')
    .description('write every issue as Beads JSONL (an unchanged issue byte for byte)')
    .requiredOption('--to <file>', 'the JSONL file to write (replaced whole)')
    .option(...storeFlag)
    .action(async (flags: { to: string; store?: string }) => {
      process.stdout.write(`${await exportCommand(flags.to, flags.store)}\n`);
    });
  store
    .command('import')
    .description('upsert issues from Beads JSONL by id; a line wins only with a newer updated_at')
    .requiredOption('--from <file>', 'the JSONL file to read')
    .option(...storeFlag)
    .action(async (flags: { from: string; store?: string }) => {
      process.stdout.write(`${await importCommand(flags.from, flags.store)}\n`);
    });
}
