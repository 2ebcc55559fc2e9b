/**
 * Named JSON values every machine on a PostgreSQL store shares (`ygg pause`, drained hosts):
 * rows of `ygg_settings`, changed under the store's write lock and announced with NOTIFY.
 */
import type pg from 'pg';
import type { SharedState } from '../store.js';
import { settingsChannel, writeLockKey } from './rows.js';

export interface SharedStateDeps {
  withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Starts listening (if not yet) and calls `onChange` on every settings NOTIFY and poll. */
  listen(onChange: () => void): () => void;
}

const parse = (text: string | undefined): unknown => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export function postgresSharedState(deps: SharedStateDeps): SharedState {
  return {
    read: (key) =>
      deps.withClient(async (client) => {
        const result = await client.query<{ value: string }>(
          'SELECT value FROM ygg_settings WHERE key = $1',
          [key],
        );
        return parse(result.rows[0]?.value);
      }),
    update: (key, change) =>
      deps.withClient(async (client) => {
        await client.query('BEGIN');
        try {
          await client.query('SELECT pg_advisory_xact_lock($1)', [writeLockKey]);
          const result = await client.query<{ value: string }>(
            'SELECT value FROM ygg_settings WHERE key = $1',
            [key],
          );
          const next = change(parse(result.rows[0]?.value));
          await client.query(
            'INSERT INTO ygg_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
            [key, JSON.stringify(next)],
          );
          await client.query(`SELECT pg_notify('${settingsChannel}', $1)`, [key]);
          await client.query('COMMIT');
          return next;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    watch: (onChange) => deps.listen(onChange),
  };
}
