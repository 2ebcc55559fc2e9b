/**
 * Channels to one host over a few pooled connections.
 *
 * A connection is opened on first use and kept; when every connection has its channel limit in
 * use (`maxChannelsPerConnection`, or sshd said "open failed" because its MaxSessions is
 * reached) another is opened, up to `maxConnections`; past that, callers queue until a channel
 * frees. A dropped connection is forgotten and the next caller opens a new one; repeated
 * connect failures wait an exponential backoff first.
 *
 *   acquire ─▶ free channel on an open connection? ─yes─▶ lease
 *                 │ no
 *                 ├─ room for another connection? ─yes─▶ connect (one at a time) ─▶ retry
 *                 └─ wait for a release, a close or a new connection ─▶ retry
 */
import type { Client } from 'ssh2';
import type { SshSettings } from '../../config/types.js';
import { HostUnreachableError } from '../transport.js';
import { openConnection } from './connection.js';

export interface ReconnectBackoff {
  baseMs: number;
  maxMs: number;
  factor: number;
  jitter: number;
}

export const DEFAULT_RECONNECT: ReconnectBackoff = { baseMs: 200, maxMs: 10_000, factor: 2, jitter: 0.2 };

/** Delay before connect attempt number `failures + 1`, after `failures` failed in a row. */
export function reconnectDelay(failures: number, backoff: ReconnectBackoff, random = Math.random): number {
  if (failures <= 0) return 0;
  const raw = Math.min(backoff.maxMs, backoff.baseMs * backoff.factor ** (failures - 1));
  return Math.round(raw * (1 - backoff.jitter * random()));
}

export interface PoolOptions {
  /** Connections to one host at most (default 4). */
  maxConnections?: number;
  backoff?: ReconnectBackoff;
  /** An extra connection idle this long is closed (default 30 s); the first one stays. */
  idleCloseMs?: number;
  /** Opens a connection; tests and benchmarks may count or replace it. */
  connect?: (signal?: AbortSignal) => Promise<Client>;
}

interface Connection {
  client: Client;
  active: number;
  /** sshd refused a channel here; skip it until a channel closes or this time passes. */
  fullUntil: number;
  closed: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** A channel slot on one connection; `release` exactly once. */
export interface ChannelLease {
  readonly client: Client;
  /** `open-failed`: sshd refused the channel (its MaxSessions), so this connection is full for now. */
  release(outcome?: 'done' | 'open-failed'): void;
}

/** How long a connection counts as full after sshd refused a channel, unless one closes first. */
const FULL_HOLD_MS = 25;

export class ConnectionPool {
  readonly #conns: Connection[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #maxConnections: number;
  readonly #backoff: ReconnectBackoff;
  readonly #idleCloseMs: number;
  readonly #connect: (signal?: AbortSignal) => Promise<Client>;
  #connecting: Promise<void> | undefined;
  #failures = 0;
  #nextConnectAt = 0;
  #lastConnectError: Error | undefined;
  #closed = false;
  #opened = 0;

  constructor(
    readonly hostName: string,
    readonly ssh: SshSettings,
    options: PoolOptions = {},
  ) {
    this.#maxConnections = Math.max(1, options.maxConnections ?? 4);
    this.#backoff = options.backoff ?? DEFAULT_RECONNECT;
    this.#idleCloseMs = options.idleCloseMs ?? 30_000;
    this.#connect = options.connect ?? ((signal) => openConnection(hostName, ssh, signal));
  }

  /** Connections open now. */
  get size(): number {
    return this.#conns.length;
  }

  /** Connections opened since the pool was made (reconnects included). */
  get opened(): number {
    return this.#opened;
  }

  /** Channels in use now, over all connections. */
  get activeChannels(): number {
    return this.#conns.reduce((sum, c) => sum + c.active, 0);
  }

  async acquire(signal?: AbortSignal): Promise<ChannelLease> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.#closed)
        throw new HostUnreachableError(this.hostName, `connection pool for ${this.hostName} is closed`);
      const conn = this.#pick();
      if (conn) return this.#lease(conn);
      if (this.#conns.length < this.#maxConnections || this.#connecting) {
        try {
          await this.#openOne(signal);
          continue;
        } catch (error) {
          // With a live connection, wait for one of its channels instead of failing.
          if (this.#conns.length === 0) throw error;
        }
      }
      await this.#changed(signal);
    }
  }

  #pick(): Connection | undefined {
    const now = Date.now();
    let best: Connection | undefined;
    for (const c of this.#conns) {
      if (c.closed || c.active >= this.ssh.maxChannelsPerConnection || c.fullUntil > now) continue;
      if (!best || c.active < best.active) best = c;
    }
    return best;
  }

  #lease(conn: Connection): ChannelLease {
    conn.active += 1;
    if (conn.idleTimer) clearTimeout(conn.idleTimer);
    conn.idleTimer = undefined;
    let released = false;
    return {
      client: conn.client,
      release: (outcome = 'done') => {
        if (released) return;
        released = true;
        conn.active -= 1;
        if (outcome === 'open-failed') {
          conn.fullUntil = Date.now() + FULL_HOLD_MS;
          // Wake waiters after the hold, so they retry rather than sleep until the next release.
          setTimeout(() => this.#notify(), FULL_HOLD_MS + 1).unref();
        } else {
          conn.fullUntil = 0;
        }
        this.#maybeCloseIdle(conn);
        this.#notify();
      },
    };
  }

  #maybeCloseIdle(conn: Connection): void {
    if (conn.active > 0 || this.#conns.length <= 1 || conn.closed) return;
    conn.idleTimer = setTimeout(() => {
      if (conn.active === 0 && this.#conns.length > 1) conn.client.end();
    }, this.#idleCloseMs);
    conn.idleTimer.unref();
  }

  async #openOne(signal?: AbortSignal): Promise<void> {
    if (!this.#connecting) {
      this.#connecting = this.#doOpen(signal).finally(() => {
        this.#connecting = undefined;
        this.#notify();
      });
    }
    await this.#connecting;
  }

  async #doOpen(signal?: AbortSignal): Promise<void> {
    const wait = this.#nextConnectAt - Date.now();
    if (wait > 0) await abortableDelay(wait, signal);
    let client: Client;
    try {
      client = await this.#connect(signal);
    } catch (error) {
      this.#failures += 1;
      this.#nextConnectAt = Date.now() + reconnectDelay(this.#failures, this.#backoff);
      this.#lastConnectError = error as Error;
      throw error;
    }
    this.#failures = 0;
    this.#nextConnectAt = 0;
    this.#opened += 1;
    if (this.#closed) {
      client.end();
      return;
    }
    const conn: Connection = { client, active: 0, fullUntil: 0, closed: false };
    // ssh2 emits errors (keepalive timeout, reset) on the client: a listener must exist, and
    // the channels in flight learn of the drop from the close that follows.
    client.on('error', () => undefined);
    // Every channel in flight listens for the drop.
    client.setMaxListeners(0);
    client.once('close', () => {
      conn.closed = true;
      if (conn.idleTimer) clearTimeout(conn.idleTimer);
      const at = this.#conns.indexOf(conn);
      if (at >= 0) this.#conns.splice(at, 1);
      this.#notify();
    });
    this.#conns.push(conn);
  }

  /** The last connect error, for doctor and health messages. */
  get lastConnectError(): Error | undefined {
    return this.#lastConnectError;
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #changed(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closing = this.#conns.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.idleTimer) clearTimeout(c.idleTimer);
          if (c.closed) return resolve();
          c.client.once('close', () => resolve());
          c.client.end();
          // A peer that never answers the disconnect must not hold close() open.
          setTimeout(() => {
            c.client.destroy();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closing);
    this.#notify();
  }
}

function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
