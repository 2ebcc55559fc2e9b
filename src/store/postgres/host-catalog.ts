/**
 * `ygg_hosts` and `ygg_slots` (one row per slot): written under the store's write lock, and
 * announced on the settings channel so that running dispatchers read them again.
 */
import type pg from 'pg';
import type { CatalogChange, HostCatalog, HostEntry, HostRecord } from '../host-catalog.js';
import type { SharedState } from '../store.js';
import { settingsChannel, writeLockKey } from './rows.js';

interface HostRow {
  name: string;
  slots: number;
  types: unknown;
  roles: unknown;
  gpus: unknown;
  gpu_memory_gb: number | null;
  updated_at: Date;
  updated_by: string;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

function recordOf(row: HostRow): HostRecord {
  const record: HostRecord = {
    name: row.name,
    slots: row.slots,
    types: strings(row.types),
    roles: strings(row.roles),
    updatedAt: row.updated_at.toISOString(),
    updatedBy: row.updated_by,
  };
  const gpus = row.gpus as { indices?: unknown; per_gpu?: unknown } | null;
  if (gpus && Array.isArray(gpus.indices) && typeof gpus.per_gpu === 'number')
    record.gpus = {
      indices: gpus.indices.filter((i): i is number => typeof i === 'number'),
      perGpu: gpus.per_gpu,
    };
  if (row.gpu_memory_gb !== null) record.gpuMemoryGb = row.gpu_memory_gb;
  return record;
}

const selectHosts = 'SELECT * FROM ygg_hosts ORDER BY name';

/** The hosts the database has (doctor reads them on a connection of its own). */
export async function readHosts(client: pg.ClientBase): Promise<HostRecord[]> {
  return (await client.query<HostRow>(selectHosts)).rows.map(recordOf);
}

const upsertHost = `INSERT INTO ygg_hosts (name, slots, types, roles, gpus, gpu_memory_gb, updated_at, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, now(), $7)
ON CONFLICT (name) DO UPDATE SET slots = EXCLUDED.slots, types = EXCLUDED.types, roles = EXCLUDED.roles,
  gpus = EXCLUDED.gpus, gpu_memory_gb = EXCLUDED.gpu_memory_gb, updated_at = now(), updated_by = EXCLUDED.updated_by`;

/** One row per slot of the host: slots beyond its count go, missing ones come. */
const slotRows = `WITH wanted AS (SELECT $1::text AS host, generate_series(0, $2::integer - 1) AS slot),
gone AS (DELETE FROM ygg_slots s WHERE s.host = $1 AND s.slot >= $2)
INSERT INTO ygg_slots (host, slot) SELECT host, slot FROM wanted ON CONFLICT DO NOTHING`;

async function writeHost(client: pg.ClientBase, host: HostEntry, by: string): Promise<void> {
  const gpus = host.gpus ? JSON.stringify({ indices: host.gpus.indices, per_gpu: host.gpus.perGpu }) : null;
  await client.query(upsertHost, [
    host.name,
    host.slots,
    JSON.stringify(host.types),
    JSON.stringify(host.roles),
    gpus,
    host.gpuMemoryGb ?? null,
    by,
  ]);
  await client.query(slotRows, [host.name, host.slots]);
}

const same = (a: HostEntry, b: HostRecord): boolean =>
  a.slots === b.slots &&
  JSON.stringify(a.types) === JSON.stringify(b.types) &&
  JSON.stringify(a.roles) === JSON.stringify(b.roles) &&
  JSON.stringify(a.gpus ?? null) === JSON.stringify(b.gpus ?? null) &&
  (a.gpuMemoryGb ?? null) === (b.gpuMemoryGb ?? null);

export function postgresHostCatalog(
  store: { readonly sharedState: SharedState },
  withClient: <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>,
): HostCatalog {
  /** Runs `fn` in a transaction under the write lock; NOTIFYs when it says it wrote. */
  const locked = <T>(
    fn: (client: pg.ClientBase, records: HostRecord[]) => Promise<{ result: T; wrote: boolean }>,
  ) =>
    withClient(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [writeLockKey]);
        const records = await readHosts(client);
        const { result, wrote } = await fn(client, records);
        if (wrote) await client.query(`SELECT pg_notify('${settingsChannel}', 'hosts')`);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  return {
    read: () => withClient(readHosts),
    addMissing: (hosts, by) =>
      locked(async (client, records) => {
        const known = new Set(records.map((r) => r.name));
        const added = hosts.filter((h) => !known.has(h.name));
        for (const host of added) await writeHost(client, host, by);
        const after =
          added.length > 0 ? (await client.query<HostRow>(selectHosts)).rows.map(recordOf) : records;
        return { result: { records: after, added: added.map((h) => h.name) }, wrote: added.length > 0 };
      }),
    replace: (hosts, by) =>
      locked(async (client, records) => {
        const change: CatalogChange = { added: [], changed: [], removed: [] };
        const byName = new Map(records.map((r) => [r.name, r]));
        for (const host of hosts) {
          const old = byName.get(host.name);
          if (old && same(host, old)) continue;
          await writeHost(client, host, by);
          (old ? change.changed : change.added).push(host.name);
        }
        const names = new Set(hosts.map((h) => h.name));
        change.removed = records.filter((r) => !names.has(r.name)).map((r) => r.name);
        if (change.removed.length > 0)
          await client.query('DELETE FROM ygg_hosts WHERE name = ANY($1::text[])', [change.removed]);
        const wrote = change.added.length + change.changed.length + change.removed.length > 0;
        return { result: change, wrote };
      }),
    watch: (onChange) => store.sharedState.watch(onChange),
  };
}
