/** `ygg store migrate|export|import`: a PostgreSQL store's schema and its bridge to bd's JSONL. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { YggError } from '../errors.js';
import { chosenStore } from '../store/open.js';
import { exportIssues, type ImportResult, importIssues } from '../store/postgres/bridge.js';
import { type MigrateResult, migrate } from '../store/postgres/migrate.js';
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

/** What `ygg store migrate --json` prints: the schema versions before and after, the steps applied. */
export type MigrateReport = { store: string } & MigrateResult;

export async function migrateReport(store?: string): Promise<MigrateReport> {
  const url = postgresUrl(store);
  return { store: redactUrl(url), ...(await migrate(url)) };
}

export function migrateText(report: MigrateReport): string {
  if (report.applied.length === 0) return `${report.store}: schema version ${report.to}, up to date`;
  const steps = report.applied.map((m) => `  ${m.version}: ${m.name}`).join('\n');
  return `${report.store}: schema version ${report.from} → ${report.to}\n${steps}`;
}

export async function exportReport(to: string, store?: string): Promise<{ issues: number; to: string }> {
  const url = postgresUrl(store);
  const { issues } = await exportIssues(url, resolve(to));
  return { issues, to };
}

export function exportText(report: { issues: number; to: string }): string {
  return `wrote ${plural(report.issues, 'issue')} to ${report.to}`;
}

export async function importReport(from: string, store?: string): Promise<{ from: string } & ImportResult> {
  const url = postgresUrl(store);
  return { from, ...(await importIssues(url, resolve(from))) };
}

export function importText(result: { from: string } & ImportResult): string {
  const { from } = result;
  const lines = [
    `${from}: ${result.added} added, ${result.updated} updated, ${result.kept} kept (not newer than the database's)`,
    ...result.skipped.map((s) => `${from}:${s.line}: skipped: ${s.why}`),
  ];
  return lines.join('\n');
}

/** One JSON value with --json, else the text for people. */
function print<T>(json: boolean | undefined, value: T, text: (value: T) => string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text(value)}\n`);
}

export function register(program: Command): void {
  const store = program
    .command('store')
    .description('a PostgreSQL store: schema migrations, and export/import of bd JSONL');
  const storeFlag = ['--store <url>', 'the postgres:// URL (default: YGG_STORE)'] as const;
  const jsonFlag = ['--json', 'print the outcome as one JSON object'] as const;
  store
    .command('migrate')
    .description('apply pending schema migrations (stop the loops on the store first)')
    .option(...storeFlag)
    .option(...jsonFlag)
    .action(async (flags: { store?: string; json?: boolean }) => {
      print(flags.json, await migrateReport(flags.store), migrateText);
    });
  store
    .command('export')
    .description('write every issue as Beads JSONL (an unchanged issue byte for byte)')
    .requiredOption('--to <file>', 'the JSONL file to write (replaced whole)')
    .option(...storeFlag)
    .option(...jsonFlag)
    .action(async (flags: { to: string; store?: string; json?: boolean }) => {
      print(flags.json, await exportReport(flags.to, flags.store), exportText);
    });
  store
    .command('import')
    .description('upsert issues from Beads JSONL by id; a line wins only with a newer updated_at')
    .requiredOption('--from <file>', 'the JSONL file to read')
    .option(...storeFlag)
    .option(...jsonFlag)
    .action(async (flags: { from: string; store?: string; json?: boolean }) => {
      print(flags.json, await importReport(flags.from, flags.store), importText);
    });
}
