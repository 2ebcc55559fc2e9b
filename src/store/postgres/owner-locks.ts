/**
 * Fast takeover on a PostgreSQL store. Each loop holds a session-level advisory lock keyed by its
 * lease owner, on a connection of its own, for as long as it runs; every `pollMs` the same
 * connection reads which of these locks are held (`pg_locks`, read-only). A loop whose process
 * dies closes its connection and the server drops its lock: its leases count as lapsed within
 * about a second instead of at their expiry. The lease stays the backstop.
 *
 * A missing lock must never let a task run twice at once, so it is trusted only this far:
 * - for an owner whose lock we saw held (a loop of an older ygg, or one that died before we
 *   looked, has only its lease);
 * - once it stayed missing for `deadAfterMs`: a loop whose session alone was cut (an operator's
 *   pg_terminate_backend) takes its lock again at once, on its next poll;
 * - while our own session has been up for `settleMs`: whatever cut our session (the database
 *   restarting, a proxy, the network) likely cut every loop's, and each needs a moment to
 *   reconnect and take its lock again. A restart ends every session, so this also means "the
 *   database has been up that long".
 * What is left is a loop cut off from the database whose session the server ends although the
 * loop lives on: PostgreSQL keeps an idle session (and its locks) until TCP keepalive gives up,
 * hours by default, so such a loop's tasks wait for its lease, and its lease keeper stops them
 * when renewals fail. A server set to end sessions of unreachable clients within seconds (short
 * tcp_keepalives_*) would let their tasks be taken before that.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';

/** The first key of every owner lock (the second is the owner's hash): 'ygo'. */
export const ownerLockSpace = 0x79676f;

export interface OwnerLocksOptions {
  url: string;
  /** How often the lock connection reads the held locks (and reconnects). Default 200 ms. */
  pollMs?: number;
  /** How long a lock must stay missing before its owner counts as gone. Default 400 ms. */
  deadAfterMs?: number;
  /** How long our own session must be up before a missing lock is trusted. Default 5000 ms. */
  settleMs?: number;
  /** A monotonic clock in ms (tests). */
  now?: () => number;
  /** Owners whose standing changed (gone, or back), by key. */
  onChange(keys: ReadonlySet<number>): void;
}

const keys = new Map<string, number>();

/** The lock key of an owner: 32 bits of its SHA-256, unsigned as `pg_locks.objid` shows it. */
export function ownerKey(owner: string): number {
  let key = keys.get(owner);
  if (key === undefined) {
    key = createHash('sha256').update(owner).digest().readUInt32BE(0);
    if (keys.size > 10_000) keys.clear();
    keys.set(owner, key);
  }
  return key;
}

/** pg_advisory_lock(int4, int4) takes the key signed; pg_locks shows it as an unsigned oid. */
const signed = (key: number) => key | 0;

const heldLocks = `SELECT objid::bigint AS k FROM pg_locks
  WHERE locktype = 'advisory' AND classid = ${ownerLockSpace} AND objsubid = 2 AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

export class OwnerLocks {
  readonly #options: OwnerLocksOptions;
  readonly #now: () => number;
  /** Owners this process holds the lock of (one per loop), and whether this session has it. */
  readonly #ours = new Map<string, boolean>();
  /** Keys we saw held at least once. */
  readonly #seen = new Set<number>();
  /** Since when a seen key has been missing (trusted observations only). */
  readonly #missingSince = new Map<number, number>();
  readonly #gone = new Set<number>();
  #client: pg.Client | undefined;
  #sessionSince = 0;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #trusted = 0;

  constructor(options: OwnerLocksOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Holds `owner`'s lock until the returned function is called. */
  hold(owner: string): () => void {
    this.#ours.set(owner, false);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.#tick(), this.#options.pollMs ?? 200);
      this.#timer.unref();
      void this.#tick();
    }
    return () => {
      if (!this.#ours.delete(owner)) return;
      const client = this.#client;
      if (client && this.#ours.size > 0)
        void client
          .query('SELECT pg_advisory_unlock($1, $2)', [ownerLockSpace, signed(ownerKey(owner))])
          .catch(() => undefined);
      if (this.#ours.size === 0) void this.close();
    };
  }

  /** True once `owner`'s lock was seen held (only such an owner can count as gone). */
  seen(owner: string): boolean {
    return this.#seen.has(ownerKey(owner));
  }

  /** Observations made in this session that were trusted (see `settleMs`): for tests and doctor. */
  get trustedObservations(): number {
    return this.#trusted;
  }

  /** True when `owner`'s lock was seen held and has since been missing long enough to trust. */
  gone(owner: string): boolean {
    return this.#gone.size > 0 && !this.#ours.has(owner) && this.#gone.has(ownerKey(owner));
  }

  /** Stops polling and ends the session (which releases our locks). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  async #tick(): Promise<void> {
    if (this.#busy || !this.#timer) return;
    this.#busy = true;
    try {
      const client = this.#client ?? (await this.#connect());
      if (!client) return;
      for (const [owner, locked] of this.#ours) {
        if (locked) continue;
        const took = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
          ownerLockSpace,
          signed(ownerKey(owner)),
        ]);
        // Not granted: another session holds the key (the same hash); we try again next time.
        if (took.rows[0]?.ok === true && this.#ours.has(owner)) this.#ours.set(owner, true);
      }
      const held = await client.query<{ k: string }>(heldLocks);
      if (this.#client === client) this.#observe(new Set(held.rows.map((row) => Number(row.k))));
    } catch {
      this.#drop();
    } finally {
      this.#busy = false;
    }
  }

  async #connect(): Promise<pg.Client | undefined> {
    const client = new pg.Client({ connectionString: this.#options.url, keepAlive: true });
    client.on('error', () => {
      if (this.#client !== client) return;
      // Take our locks again at once: the others wait `deadAfterMs` for us.
      this.#drop();
      setImmediate(() => void this.#tick());
    });
    try {
      await client.connect();
    } catch {
      void client.end().catch(() => undefined);
      return undefined;
    }
    if (!this.#timer) {
      await client.end().catch(() => undefined);
      return undefined;
    }
    this.#client = client;
    this.#sessionSince = this.#now();
    this.#trusted = 0;
    // Observations from before the gap say nothing about now.
    this.#missingSince.clear();
    return client;
  }

  /** The session is gone (the database restarted, the network): our locks with it. */
  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    for (const owner of this.#ours.keys()) this.#ours.set(owner, false);
    if (client) void client.end().catch(() => undefined);
  }

  #observe(held: ReadonlySet<number>): void {
    const now = this.#now();
    const trusted = now - this.#sessionSince >= (this.#options.settleMs ?? 5000);
    const deadAfter = this.#options.deadAfterMs ?? 400;
    const changed = new Set<number>();
    if (trusted) this.#trusted += 1;
    for (const key of held) this.#seen.add(key);
    for (const key of this.#seen) {
      if (held.has(key)) {
        this.#missingSince.delete(key);
        if (this.#gone.delete(key)) changed.add(key);
        continue;
      }
      if (!trusted || this.#gone.has(key)) continue;
      const since = this.#missingSince.get(key) ?? now;
      this.#missingSince.set(key, since);
      if (now - since >= deadAfter) {
        this.#gone.add(key);
        changed.add(key);
      }
    }
    if (changed.size > 0) this.#options.onChange(changed);
  }
}
