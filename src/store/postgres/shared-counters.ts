/**
 * The counters of `ygg stats` in `ygg_counters`: each dispatcher adds its own changes in one
 * statement (row-level upserts, no store lock), so the totals are every dispatcher's together.
 */
import type pg from 'pg';
import type { SharedCounters } from '../store.js';

export function postgresCounters(
  withClient: <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>,
): SharedCounters {
  return {
    add: (amounts) =>
      withClient(async (client) => {
        if (amounts.length === 0) return;
        // One row per counter: two changes of one counter in a statement would conflict.
        const sums = new Map<string, { scope: string; key: string; field: string; value: number }>();
        for (const a of amounts) {
          const id = JSON.stringify([a.scope, a.key, a.field]);
          const seen = sums.get(id);
          if (seen) seen.value += a.value;
          else sums.set(id, { ...a });
        }
        await client.query(
          `INSERT INTO ygg_counters (scope, key, field, value)
           SELECT scope, key, field, value FROM jsonb_to_recordset($1::jsonb)
             AS r(scope text, key text, field text, value bigint)
           ON CONFLICT (scope, key, field) DO UPDATE SET value = ygg_counters.value + EXCLUDED.value`,
          [JSON.stringify([...sums.values()])],
        );
      }),
    read: () =>
      withClient(async (client) => {
        const result = await client.query<{ scope: string; key: string; field: string; value: string }>(
          'SELECT scope, key, field, value FROM ygg_counters',
        );
        return result.rows.map((row) => ({ ...row, value: Number(row.value) }));
      }),
  };
}
