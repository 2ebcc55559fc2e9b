/**
 * The database's clock, read from this machine: the offset between `Date.now()` and the
 * server's `clock_timestamp()`, measured at load and again every few seconds. Leases are written
 * and judged on it, so dispatchers whose machine clocks disagree by seconds agree on which
 * leases are live.
 */
import type pg from 'pg';

/** One reading: the database's time minus this machine's, and how far off it may be (half the round trip). */
export interface ClockReading {
  offsetMs: number;
  errorMs: number;
}

const readNow = 'SELECT (extract(epoch from clock_timestamp()) * 1000)::text AS ms';

/** Reads the database's clock once; the offset is taken against the middle of the round trip. */
export async function readClockOffset(client: pg.ClientBase): Promise<ClockReading> {
  const before = Date.now();
  const result = await client.query<{ ms: string }>(readNow);
  const after = Date.now();
  return { offsetMs: Number(result.rows[0]?.ms) - (before + after) / 2, errorMs: (after - before) / 2 };
}

/** The reading of `tries` with the shortest round trip (the least delayed by the network or a busy server). */
export async function bestClockOffset(client: pg.ClientBase, tries = 3): Promise<ClockReading> {
  let best: ClockReading | undefined;
  for (let i = 0; i < tries; i++) {
    const reading = await readClockOffset(client);
    if (!best || reading.errorMs < best.errorMs) best = reading;
  }
  return best as ClockReading;
}

export class DatabaseClock {
  #offsetMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    readonly options: {
      /** Runs a read on a pooled connection. */
      withClient<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T>;
      /** How often the offset is measured again once someone reads the clock (default 5000 ms). */
      everyMs?: number;
    },
  ) {}

  /** The offset last measured (0 before the first reading). */
  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Milliseconds since the epoch on the database's clock; starts the periodic measurement. */
  now(): number {
    this.#start();
    return Math.round(Date.now() + this.#offsetMs);
  }

  async measure(client?: pg.ClientBase): Promise<void> {
    const reading = client
      ? await bestClockOffset(client)
      : await this.options.withClient((c) => bestClockOffset(c));
    this.#offsetMs = reading.offsetMs;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #start(): void {
    if (this.#timer || this.#stopped) return;
    // A database that is away keeps the last offset: clocks drift by milliseconds a day.
    this.#timer = setInterval(() => void this.measure().catch(() => undefined), this.options.everyMs ?? 5000);
    this.#timer.unref();
  }
}
