/**
 * The replay buffer: scored trajectories, bounded, persisted in the runtime dir (`replay.json`,
 * written atomically by lowdb) so a restart keeps them. Entries move through
 *   fresh (scored, not trained on) -> trained (used in a batch at version V) | stale (too old)
 * and are evicted oldest first, trained and stale ones before fresh ones, past the capacity.
 * Priority is the reward variance of a trajectory's group (rollouts of the same problem: a task's
 * `metadata.ygg.group` or `group:NAME` label, else the task itself): groups whose outcome is
 * intermittent are the most informative and come first in a training batch.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { isStale } from './staleness.js';
import type { Trajectory } from './trajectory.js';

export interface ReplayEntry {
  trajectory: Trajectory;
  /** Insertion order, kept across restarts. */
  seq: number;
  /** The policy version whose batch used it. */
  trainedAt?: number;
  /** Set when it was too old to train on when a batch was drawn. */
  stale?: boolean;
}

interface ReplayData {
  version: 1;
  nextSeq: number;
  entries: ReplayEntry[];
}

export const replayFileName = 'replay.json';

/** A small weight every entry has, so groups without variance are still sampled. */
const basePriority = 0.01;

export interface DrawnBatch {
  /**
   * `batchSize` fresh trajectories, absent while too few are fresh: first those the next policy
   * version would make stale (now or never), then by priority (highest reward variance of their
   * group first), then oldest version, then arrival.
   */
  batch?: Trajectory[];
  /** Fresh trajectories too old to train on at the current version. */
  stale: Trajectory[];
}

export class ReplayBuffer {
  readonly path: string;
  readonly capacity: number;
  readonly #db: Low<ReplayData>;

  private constructor(path: string, capacity: number, db: Low<ReplayData>) {
    this.path = path;
    this.capacity = capacity;
    this.#db = db;
  }

  static async open(path: string, options: { capacity?: number } = {}): Promise<ReplayBuffer> {
    await mkdir(dirname(path), { recursive: true });
    const db = new Low<ReplayData>(new JSONFile<ReplayData>(path), { version: 1, nextSeq: 1, entries: [] });
    await db.read();
    return new ReplayBuffer(path, options.capacity ?? 1000, db);
  }

  static inRuntimeDir(runtimeDir: string, options: { capacity?: number } = {}): Promise<ReplayBuffer> {
    return ReplayBuffer.open(join(runtimeDir, replayFileName), options);
  }

  get size(): number {
    return this.#db.data.entries.length;
  }

  entries(): readonly ReplayEntry[] {
    return this.#db.data.entries;
  }

  /** Scored, untrained, not stale, not failed. */
  fresh(): Trajectory[] {
    return this.#db.data.entries.filter(isFresh).map((e) => e.trajectory);
  }

  /** Keep a scored trajectory (a failed or unscored one is refused: it cannot be trained on). */
  async add(trajectory: Trajectory): Promise<void> {
    if (trajectory.status !== 'ok' || trajectory.reward === undefined)
      throw new Error(`trajectory ${trajectory.id} is ${trajectory.status === 'ok' ? 'unscored' : 'failed'}`);
    const data = this.#db.data;
    data.entries = data.entries.filter((e) => e.trajectory.id !== trajectory.id);
    data.entries.push({ trajectory, seq: data.nextSeq++ });
    this.#evict();
    await this.#db.write();
  }

  /** Reward variance of each group, over every entry kept. */
  groupVariance(): Map<string, number> {
    const rewards = new Map<string, number[]>();
    for (const { trajectory: t } of this.#db.data.entries) {
      const list = rewards.get(t.group) ?? [];
      list.push(t.reward ?? 0);
      rewards.set(t.group, list);
    }
    const variance = new Map<string, number>();
    for (const [group, list] of rewards) {
      const mean = list.reduce((a, b) => a + b, 0) / list.length;
      variance.set(group, list.reduce((a, r) => a + (r - mean) ** 2, 0) / list.length);
    }
    return variance;
  }

  priority(trajectory: Trajectory, variance = this.groupVariance()): number {
    return basePriority + (variance.get(trajectory.group) ?? 0);
  }

  /** The next training batch: fresh trajectories, stale ones set apart. Changes nothing. */
  drawBatch(options: { batchSize: number; currentVersion: number; maxStaleness: number }): DrawnBatch {
    const stale: Trajectory[] = [];
    const usable: ReplayEntry[] = [];
    for (const entry of this.#db.data.entries.filter(isFresh)) {
      if (isStale(entry.trajectory.policyVersion, options.currentVersion, options.maxStaleness))
        stale.push(entry.trajectory);
      else usable.push(entry);
    }
    if (usable.length < options.batchSize) return { stale };
    const variance = this.groupVariance();
    const { currentVersion, maxStaleness } = options;
    // Stale at the next version: this batch is its last chance to be trained on.
    const lastChance = (e: ReplayEntry) =>
      isStale(e.trajectory.policyVersion, currentVersion + 1, maxStaleness);
    usable.sort(
      (a, b) =>
        Number(lastChance(b)) - Number(lastChance(a)) ||
        this.priority(b.trajectory, variance) - this.priority(a.trajectory, variance) ||
        a.trajectory.policyVersion - b.trajectory.policyVersion ||
        a.seq - b.seq,
    );
    return { batch: usable.slice(0, options.batchSize).map((e) => e.trajectory), stale };
  }

  async markTrained(ids: readonly string[], version: number): Promise<void> {
    const wanted = new Set(ids);
    for (const entry of this.#db.data.entries) if (wanted.has(entry.trajectory.id)) entry.trainedAt = version;
    this.#evict();
    await this.#db.write();
  }

  async markStale(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const wanted = new Set(ids);
    for (const entry of this.#db.data.entries) if (wanted.has(entry.trajectory.id)) entry.stale = true;
    this.#evict();
    await this.#db.write();
  }

  /**
   * Up to `n` distinct entries (trained ones included), drawn with probability proportional to
   * priority (Efraimidis–Spirakis keys), so high-variance groups come first. `random` is injectable.
   */
  sample(n: number, random: () => number = Math.random): Trajectory[] {
    const variance = this.groupVariance();
    const keyed = this.#db.data.entries
      .filter((e) => !e.stale)
      .map((e) => ({ t: e.trajectory, key: random() ** (1 / this.priority(e.trajectory, variance)) }));
    keyed.sort((a, b) => b.key - a.key);
    return keyed.slice(0, n).map((k) => k.t);
  }

  #evict(): void {
    const data = this.#db.data;
    const excess = data.entries.length - this.capacity;
    if (excess <= 0) return;
    // Used or stale entries go first (oldest first), then the oldest fresh ones.
    const order = [...data.entries].sort((a, b) => Number(isFresh(a)) - Number(isFresh(b)) || a.seq - b.seq);
    const evicted = new Set(order.slice(0, excess));
    data.entries = data.entries.filter((e) => !evicted.has(e));
  }
}

function isFresh(entry: ReplayEntry): boolean {
  return entry.trainedAt === undefined && !entry.stale;
}
