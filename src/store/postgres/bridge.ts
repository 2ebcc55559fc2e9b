/**
 * The bridge between bd's JSONL and the database: export writes every issue's line (an issue ygg
 * did not change is its imported line, byte for byte); import upserts by id, taking a line only
 * when its `updated_at` is newer than the row's, as `bd import` does.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import pg from 'pg';
import { YggError } from '../../errors.js';
import { parseLine } from '../beads-jsonl/parse-line.js';
import { parseMicros } from '../timestamps.js';
import { checkSchema } from './migrate.js';
import { changeChannel, rowOf, upsertRows, writeLockKey } from './rows.js';
import { redactIn, redactUrl } from './url.js';

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // a cut connection fails the query in flight
  try {
    await client.connect();
  } catch (error) {
    const text = redactIn(error instanceof Error ? error.message : String(error), url);
    throw new YggError(`cannot connect to the database ${redactUrl(url)}: ${text}`, {
      hint: 'Check that PostgreSQL is running and reachable, and PGPASSWORD or PGPASSFILE for the password.',
    });
  }
  try {
    await checkSchema(client, url);
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Writes every issue, in arrival order, to `file` (replaced whole, atomically). */
export async function exportIssues(url: string, file: string): Promise<{ issues: number }> {
  const lines = await withClient(url, async (client) => {
    const result = await client.query<{ line: string }>('SELECT line FROM ygg_issues ORDER BY seq');
    return result.rows.map((row) => row.line);
  });
  const temp = `${file}.ygg-export-${process.pid}`;
  await writeFile(temp, lines.map((line) => `${line}\n`).join(''));
  await rename(temp, file);
  return { issues: lines.length };
}

export interface ImportResult {
  added: number;
  updated: number;
  /** Same id, `updated_at` not newer than the database's: the database's kept. */
  kept: number;
  /** Lines that are not issues ygg can take, with their line numbers and why. */
  skipped: { line: number; why: string }[];
}

/** Upserts the issues of a JSONL file by id, newer `updated_at` winning. */
export async function importIssues(url: string, file: string): Promise<ImportResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new YggError(`cannot read ${file}: ${(error as Error).message}`, {
      hint: 'Pass the path of a JSONL file.',
    });
  }
  const result: ImportResult = { added: 0, updated: 0, kept: 0, skipped: [] };
  const incoming = new Map<
    string,
    { line: string; task: NonNullable<ReturnType<typeof parseLine>['task']> }
  >();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const { record, task } = parseLine(Buffer.from(line, 'utf8'));
    if (record.kind === 'other') {
      result.skipped.push({ line: i + 1, why: 'not an issue (a `_type` line ygg does not store)' });
      return;
    }
    if (record.kind !== 'issue' || !task) {
      result.skipped.push({ line: i + 1, why: record.notes?.[0]?.message ?? 'unreadable' });
      return;
    }
    if (incoming.has(task.id)) {
      result.skipped.push({ line: i + 1, why: `issue ${task.id} appears again (the first is taken)` });
      return;
    }
    incoming.set(task.id, { line, task });
  });
  await withClient(url, async (client) => {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [writeLockKey]);
      const existing = await client.query<{ id: string; line: string }>(
        'SELECT id, line FROM ygg_issues WHERE id = ANY($1)',
        [[...incoming.keys()]],
      );
      const current = new Map(existing.rows.map((row) => [row.id, row.line]));
      const rows = [];
      for (const [id, { line, task }] of incoming) {
        const before = current.get(id);
        if (before === undefined) result.added++;
        else if (before !== line && isNewer(task.updated_at, JSON.parse(before).updated_at)) result.updated++;
        else {
          result.kept++;
          continue;
        }
        rows.push(rowOf(task, line));
      }
      if (rows.length > 0) {
        const next = await client.query<{ r: string }>(`SELECT nextval('ygg_revision') AS r`);
        const revision = Number(next.rows[0]?.r);
        await client.query(upsertRows, [JSON.stringify(rows), revision]);
        await client.query(`SELECT pg_notify('${changeChannel}', $1)`, [String(revision)]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
  return result;
}

/** bd's rule: the incoming line wins only when strictly newer (a missing time is oldest). */
function isNewer(incoming: unknown, existing: unknown): boolean {
  const a = parseMicros(incoming);
  const b = parseMicros(existing);
  if (a === undefined) return false;
  return b === undefined || a > b;
}
