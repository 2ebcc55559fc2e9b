/**
 * Each running dispatcher's status record in `ygg_dispatchers`, refreshed on its heartbeat, so
 * that `ygg monitor`, the web view and `list --ready` on any machine find every dispatcher on the
 * database. Heartbeats are stamped and judged on the database's clock, so machines whose clocks
 * differ still agree which records are fresh.
 */
import type pg from 'pg';
import type { DispatcherRecords } from '../store.js';

export function postgresDispatcherRecords(
  withClient: <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>,
): DispatcherRecords {
  return {
    put: (owner, record) =>
      withClient(async (client) => {
        await client.query(
          `INSERT INTO ygg_dispatchers (owner, record, heartbeat_at) VALUES ($1, $2, now())
           ON CONFLICT (owner) DO UPDATE SET record = EXCLUDED.record, heartbeat_at = now()`,
          [owner, JSON.stringify(record)],
        );
      }),
    remove: (owner) =>
      withClient(async (client) => {
        await client.query('DELETE FROM ygg_dispatchers WHERE owner = $1', [owner]);
      }),
    live: (freshMs) =>
      withClient(async (client) => {
        const result = await client.query<{ record: unknown }>(
          `SELECT record FROM ygg_dispatchers
           WHERE heartbeat_at > now() - make_interval(secs => $1::double precision / 1000)
           ORDER BY heartbeat_at`,
          [freshMs],
        );
        return result.rows.map((row) => row.record);
      }),
  };
}
