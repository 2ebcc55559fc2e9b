/**
 * Runs the schema's migrations explicitly (`ygg init --store URL`, `ygg store migrate`) and
 * checks the version when a store opens: an older schema is reported with the command that
 * upgrades it, never migrated silently.
 */
import pg from 'pg';
import { YggError } from '../../errors.js';
import { latestSchemaVersion, migrations } from './migrations/index.js';
import { redactIn, redactUrl } from './url.js';

/** Serialises migrations from several machines (an arbitrary constant: 'yggm'). */
const migrationLockKey = 0x7967676d;

const versionTable = `CREATE TABLE IF NOT EXISTS ygg_schema_version (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

export interface MigrateResult {
  from: number;
  to: number;
  applied: { version: number; name: string }[];
}

/** The schema version in the database: 0 when ygg's tables are not there. */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('ygg_schema_version') AS t`);
  if (!exists.rows[0]?.t) return 0;
  const result = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM ygg_schema_version');
  return result.rows[0]?.v ?? 0;
}

/** Applies every pending migration, each in its own transaction, under a lock. */
export async function migrate(url: string): Promise<MigrateResult> {
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
    await client.query('SELECT pg_advisory_lock($1)', [migrationLockKey]);
    await client.query(versionTable);
    const from = await schemaVersion(client);
    const applied: MigrateResult['applied'] = [];
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO ygg_schema_version (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push({ version: migration.version, name: migration.name });
    }
    return { from, to: Math.max(from, latestSchemaVersion), applied };
  } finally {
    await client.end();
  }
}

/** Throws a YggError naming the command to run when the schema is missing, older or newer. */
export async function checkSchema(client: pg.ClientBase, url: string): Promise<void> {
  const version = await schemaVersion(client);
  const shown = redactUrl(url);
  if (version === 0) {
    throw new YggError(`no ygg schema in the database ${shown}`, {
      hint: `Create it with \`ygg init --store '${shown}'\`.`,
    });
  }
  if (version < latestSchemaVersion) {
    throw new YggError(
      `the database ${shown} has ygg schema version ${version}; this ygg needs version ${latestSchemaVersion}`,
      { hint: `Upgrade it with \`ygg store migrate --store '${shown}'\` (stop the loops on it first).` },
    );
  }
  if (version > latestSchemaVersion) {
    throw new YggError(
      `the database ${shown} has ygg schema version ${version}, newer than this ygg knows (${latestSchemaVersion})`,
      { hint: 'Upgrade ygg on this machine to the version the other dispatchers run.' },
    );
  }
}
