/**
 * A PostgreSQL store's connections: a small pool whose errors come back without the URL's
 * password, and whose connections never end the process when the server drops them.
 */
import pg from 'pg';
import { YggError } from '../../errors.js';
import { redactIn } from './url.js';

const guarded = new WeakSet<pg.PoolClient>();

export class StorePool {
  readonly #pool: pg.Pool;

  /** `where`: the URL without its password, for messages. */
  constructor(
    readonly url: string,
    readonly where: string,
  ) {
    this.#pool = new pg.Pool({ connectionString: url, max: 2 });
    // An idle connection the server closed (a restart): the next query opens another.
    this.#pool.on('error', () => undefined);
  }

  /** A pooled connection; the caller releases it (with `true` after a failure: it is dropped). */
  async connect(): Promise<pg.PoolClient> {
    try {
      const client = await this.#pool.connect();
      // A connection cut while checked out (the server restarting) fails its query; without a
      // listener its 'error' event would end the process.
      if (!guarded.has(client)) {
        guarded.add(client);
        client.on('error', () => undefined);
      }
      return client;
    } catch (error) {
      throw this.cleanError(error, 'cannot connect to');
    }
  }

  async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  /** The driver's error as ygg says it: what it was doing, where, without the password. */
  cleanError(error: unknown, doing: string): YggError {
    const text = redactIn(error instanceof Error ? error.message : String(error), this.url);
    return new YggError(`${doing} the database ${this.where}: ${text}`, {
      hint: 'Check that PostgreSQL is running and reachable, and PGPASSWORD or PGPASSFILE for the password.',
    });
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}
