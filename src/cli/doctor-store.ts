/**
 * `ygg doctor`'s entry for a PostgreSQL store: the database reachable, its schema version, and
 * this machine's clock against the database's (leases are written and judged on the database's
 * clock; logs and the times the monitor shows are each machine's).
 */
import pg from 'pg';
import { describeDifference, hostDifferences } from '../app/database-hosts.js';
import type { YggConfig } from '../config/types.js';
import type { HostRecord } from '../store/host-catalog.js';
import { chosenStore } from '../store/open.js';
import { readHosts } from '../store/postgres/host-catalog.js';
import { schemaVersion } from '../store/postgres/migrate.js';
import { latestSchemaVersion } from '../store/postgres/migrations/index.js';
import { isPostgresUrl, redactIn, redactUrl } from '../store/postgres/url.js';
import { dispatchersStep } from './doctor-dispatchers.js';
import type { DoctorStep, HostDiagnosis } from './doctor-step.js';

/** Skew beyond this is a warning (a lease is 15 s or more; renewals come every third of it). */
export const clockSkewWarnMs = 1000;

export async function storeDiagnosis(options: {
  cwd: string;
  store?: string;
  configPath?: string;
  /** hosts.yaml as loaded: its hosts against the database's. */
  config?: YggConfig;
}): Promise<HostDiagnosis[]> {
  const url = chosenStore({
    cwd: options.cwd,
    ...(options.store ? { path: options.store } : {}),
    ...(options.configPath ? { configPath: options.configPath } : {}),
  });
  if (!isPostgresUrl(url)) return [];
  const shown = redactUrl(url);
  const steps: DoctorStep[] = [];
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    steps.push({
      step: 'database',
      status: 'fail',
      detail: `${shown}: ${redactIn(error instanceof Error ? error.message : String(error), url)}`,
      fix: 'Start PostgreSQL or fix the URL; the password comes from PGPASSWORD or PGPASSFILE.',
    });
    return [{ host: 'store', steps, ok: false }];
  }
  try {
    steps.push({ step: 'database', status: 'ok', detail: `${shown} reachable` });
    const version = await schemaVersion(client);
    steps.push(
      version === latestSchemaVersion
        ? { step: 'schema', status: 'ok', detail: `version ${version}` }
        : {
            step: 'schema',
            status: 'fail',
            detail: `version ${version}; this ygg needs ${latestSchemaVersion}`,
            fix:
              version === 0
                ? `ygg init --store '${shown}'`
                : version < latestSchemaVersion
                  ? `ygg store migrate --store '${shown}' (stop the loops on it first)`
                  : 'upgrade ygg on this machine',
          },
    );
    const before = Date.now();
    const result = await client.query<{ ms: string }>(
      'SELECT (extract(epoch from clock_timestamp()) * 1000)::text AS ms',
    );
    const after = Date.now();
    const skew = Math.round(Number(result.rows[0]?.ms) - (before + after) / 2);
    const detail = `this machine's clock is ${Math.abs(skew)} ms ${skew > 0 ? 'behind' : 'ahead of'} the database's (±${Math.ceil((after - before) / 2)} ms)`;
    steps.push(
      Math.abs(skew) <= clockSkewWarnMs
        ? { step: 'clock', status: 'ok', detail }
        : {
            step: 'clock',
            status: 'warn',
            detail,
            fix: "Run NTP (chrony, systemd-timesyncd) on every machine and the database host: leases follow the database's clock, logs and times shown follow each machine's.",
          },
    );
    if (options.config && version >= 2) steps.push(hostsStep(options.config, await readHosts(client), shown));
    // Each dispatcher's record, from version 3 of the schema on.
    if (version >= 3) steps.push(await dispatchersStep(client, clockSkewWarnMs));
  } finally {
    await client.end().catch(() => undefined);
  }
  return [{ host: 'store', steps, ok: steps.every((s) => s.status !== 'fail') }];
}

/**
 * This hosts.yaml's hosts against the database's, whose slots every dispatcher follows: another
 * slot count or a host only the database has is a warning; a host it lacks is written by the
 * next loop started here.
 */
function hostsStep(config: YggConfig, records: readonly HostRecord[], shown: string): DoctorStep {
  const differences = hostDifferences(config, records);
  const conflicts = differences.filter((d) => d.database !== undefined);
  const fresh = differences.filter((d) => d.database === undefined).map((d) => d.host);
  const toAdd =
    fresh.length > 0 ? `; not in the database yet (a loop started here adds them): ${fresh.join(', ')}` : '';
  if (conflicts.length === 0) {
    const same = config.hosts.length - fresh.length;
    return {
      step: 'hosts',
      status: 'ok',
      detail: `${same} of ${config.hosts.length} as in the database${toAdd}`,
    };
  }
  return {
    step: 'hosts',
    status: 'warn',
    detail: `${conflicts.map(describeDifference).join('; ')}${toAdd}`,
    fix: `The loops follow the database's slots. To make this hosts.yaml the database's: ygg hosts sync --store '${shown}'`,
  };
}
