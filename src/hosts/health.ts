/**
 * Probes each host on its interval. After `probeFailures` failures in a row a host is `down`
 * (`host:down`); a host never seen up is down after its first failure. The first success after
 * that, or the first ever, makes it `up` (`host:up`). Probe errors are recorded, never thrown.
 *
 *   unknown ──ok──▶ up ──N failures──▶ down ──ok──▶ up
 *      └──────1 failure───────────────▶ down
 */
import { toError } from '../errors.js';
import type { EventBus } from '../observe/events.js';
import { realTimers, type Timers, withTimeout } from './timers.js';

export type HostState = 'unknown' | 'up' | 'down';

export interface HostHealth {
  state: HostState;
  latencyMs?: number;
  consecutiveFailures: number;
  lastError?: string;
  /** When the state last changed (timers' clock). */
  since: number;
  lastProbeAt?: number;
}

export interface HealthTarget {
  name: string;
  probe(signal: AbortSignal): Promise<{ latencyMs: number }>;
  intervalMs: number;
  /** Failures in a row before the host is down. */
  failures: number;
}

export interface HealthOptions {
  bus: EventBus;
  timers?: Timers;
  /** Bound on one probe (default: the host's interval, at most 10 s). */
  probeTimeoutMs?: number;
}

interface Tracked {
  target: HealthTarget;
  health: HostHealth;
  timer?: unknown;
  inFlight?: Promise<HostHealth>;
}

export class HealthMonitor {
  readonly #hosts = new Map<string, Tracked>();
  readonly #bus: EventBus;
  readonly #timers: Timers;
  readonly #probeTimeoutMs: number | undefined;
  #running = false;

  constructor(targets: readonly HealthTarget[], options: HealthOptions) {
    this.#bus = options.bus;
    this.#timers = options.timers ?? realTimers;
    this.#probeTimeoutMs = options.probeTimeoutMs;
    const now = this.#timers.now();
    for (const target of targets) {
      this.#hosts.set(target.name, {
        target,
        health: { state: 'unknown', consecutiveFailures: 0, since: now },
      });
    }
  }

  /** Probes every host now, then each on its interval. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const tracked of this.#hosts.values()) void this.#tick(tracked);
  }

  health(name: string): HostHealth | undefined {
    const tracked = this.#hosts.get(name);
    return tracked && { ...tracked.health };
  }

  /** Every host's health, by name. */
  all(): Record<string, HostHealth> {
    return Object.fromEntries([...this.#hosts].map(([name, t]) => [name, { ...t.health }]));
  }

  isUp(name: string): boolean {
    return this.#hosts.get(name)?.health.state === 'up';
  }

  /** Probes one host at once (a command there just failed, say); resolves with its health. */
  probeNow(name: string): Promise<HostHealth | undefined> {
    const tracked = this.#hosts.get(name);
    if (!tracked) return Promise.resolve(undefined);
    return this.#probe(tracked);
  }

  async #tick(tracked: Tracked): Promise<void> {
    await this.#probe(tracked);
    if (!this.#running) return;
    tracked.timer = this.#timers.setTimeout(() => void this.#tick(tracked), tracked.target.intervalMs);
  }

  #probe(tracked: Tracked): Promise<HostHealth> {
    tracked.inFlight ??= this.#runProbe(tracked).finally(() => {
      tracked.inFlight = undefined;
    });
    return tracked.inFlight;
  }

  async #runProbe(tracked: Tracked): Promise<HostHealth> {
    const { target, health } = tracked;
    const timeoutMs = this.#probeTimeoutMs ?? Math.min(10_000, target.intervalMs);
    health.lastProbeAt = this.#timers.now();
    try {
      const { latencyMs } = await withTimeout(
        this.#timers,
        timeoutMs,
        (signal) => target.probe(signal),
        () => `no answer within ${timeoutMs} ms`,
      );
      health.latencyMs = latencyMs;
      health.consecutiveFailures = 0;
      delete health.lastError;
      if (health.state !== 'up') this.#transition(tracked, 'up');
    } catch (thrown) {
      const error = toError(thrown);
      health.consecutiveFailures += 1;
      health.lastError = error.message;
      // A host never seen answering is not given the benefit of the doubt: its tasks would
      // spend their attempts on it meanwhile.
      const allowed = health.state === 'unknown' ? 1 : Math.max(1, target.failures);
      if (health.state !== 'down' && health.consecutiveFailures >= allowed) {
        this.#transition(tracked, 'down');
      }
    }
    return { ...health };
  }

  #transition(tracked: Tracked, state: 'up' | 'down'): void {
    tracked.health.state = state;
    tracked.health.since = this.#timers.now();
    const host = tracked.target.name;
    if (state === 'up') this.#bus.emit('host:up', { host });
    else this.#bus.emit('host:down', { host, error: tracked.health.lastError ?? 'probe failed' });
  }

  /** Stops probing and waits for probes in flight. Safe to call twice. */
  async stop(): Promise<void> {
    this.#running = false;
    const inFlight: Promise<unknown>[] = [];
    for (const tracked of this.#hosts.values()) {
      if (tracked.timer !== undefined) this.#timers.clearTimeout(tracked.timer);
      tracked.timer = undefined;
      if (tracked.inFlight) inFlight.push(tracked.inFlight);
    }
    await Promise.allSettled(inFlight);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
