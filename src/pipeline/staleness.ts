/**
 * Bounded staleness, AReaL's admission rule: a rollout starts only while the trajectories
 * already accepted or running fit within what the next `maxStaleness + 1` policy versions can
 * train on, so nothing is generated that would be too old when it is consumed. Queue time counts:
 * a rollout holds its admission from the moment it is admitted, not from when it starts running.
 */
import type { EventBus } from '../observe/events.js';

export interface StalenessSettings {
  batchSize: number;
  maxStaleness: number;
  maxInflight: number;
}

export interface AdmissionCounts {
  /** Current policy version (0 before the first publication). */
  version: number;
  /** Rollouts admitted and not yet finished (queued or running). */
  running: number;
  /** Trajectories finished and accepted for training, over the whole run. */
  accepted: number;
}

/** How many more rollouts may start now: `min(maxInflight - running, (maxStaleness + version + 1) * batchSize - (accepted + running))`, never below 0. */
export function admissionCapacity(settings: StalenessSettings, counts: AdmissionCounts): number {
  const byInflight = settings.maxInflight - counts.running;
  const byStaleness =
    (settings.maxStaleness + counts.version + 1) * settings.batchSize - (counts.accepted + counts.running);
  return Math.max(0, Math.min(byInflight, byStaleness));
}

/** A trajectory generated under `trajectoryVersion` is too old to train on at `currentVersion`. */
export function isStale(trajectoryVersion: number, currentVersion: number, maxStaleness: number): boolean {
  return currentVersion - trajectoryVersion > maxStaleness;
}

/** One admitted rollout: the policy version it runs under and when it was admitted. */
export interface AdmissionTicket {
  id: number;
  policyVersion: number;
  admittedAt: number;
}

export interface StalenessGateOptions {
  settings: StalenessSettings;
  /** Current policy version, read at each admission. */
  version: () => number;
  /** Trajectories accepted before this gate was created (after a restart). */
  accepted?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
}

/**
 * The admission gate the dispatcher asks before starting a `rollout` task. States per ticket:
 * admitted (counts as running) -> finished as accepted (counts toward `accepted`) or discarded
 * (a failed rollout: frees its place without counting).
 */
export class StalenessGate {
  readonly #options: StalenessGateOptions;
  readonly #now: () => number;
  readonly #running = new Map<number, AdmissionTicket>();
  readonly #listeners = new Set<() => void>();
  #accepted: number;
  #nextId = 1;

  constructor(options: StalenessGateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#accepted = options.accepted ?? 0;
  }

  counts(): AdmissionCounts {
    return { version: this.#options.version(), running: this.#running.size, accepted: this.#accepted };
  }

  /** Rollouts that may be admitted right now. */
  capacity(): number {
    return admissionCapacity(this.#options.settings, this.counts());
  }

  /** Admit one rollout when there is room; `undefined` means wait for a policy version or a finish. */
  tryAdmit(): AdmissionTicket | undefined {
    if (this.capacity() < 1) return undefined;
    const ticket = { id: this.#nextId++, policyVersion: this.#options.version(), admittedAt: this.#now() };
    this.#running.set(ticket.id, ticket);
    return ticket;
  }

  /** The rollout ended; `accepted` when its trajectory went to the replay buffer. Safe to call twice. */
  finish(ticket: AdmissionTicket, accepted: boolean): void {
    if (!this.#running.delete(ticket.id)) return;
    if (accepted) this.#accepted += 1;
    this.changed();
  }

  /** Call `listener` whenever room may have opened (a finish, a new policy version); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Room may have opened (the policy version moved): tell the listeners. */
  changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /** The policy version of each admitted, unfinished rollout. */
  runningVersions(): number[] {
    return [...this.#running.values()].map((t) => t.policyVersion);
  }

  /** Milliseconds the oldest admitted rollout has been waiting or running (0 when none). */
  oldestRunningMs(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const ticket of this.#running.values()) oldest = Math.min(oldest, ticket.admittedAt);
    return oldest === Number.POSITIVE_INFINITY ? 0 : this.#now() - oldest;
  }
}

/** Trajectories not trained on because they were too old: the `ygg_stale_trajectories_total` counter. */
export class StaleCounter {
  readonly #events: EventBus | undefined;
  #total = 0;

  constructor(events?: EventBus) {
    this.#events = events;
  }

  add(count: number, policyVersion: number): void {
    if (count <= 0) return;
    this.#total += count;
    this.#events?.emit('trajectory:stale', { count, policyVersion, total: this.#total });
  }

  get total(): number {
    return this.#total;
  }
}
