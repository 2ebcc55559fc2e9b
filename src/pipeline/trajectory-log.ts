/**
 * The trajectory log: one JSON line per event in `.ygg/trajectories.jsonl`. A trajectory is
 * appended once when its rollout ends; its reward is appended later as a `reward` line naming it,
 * so nothing is ever rewritten. Appends queued together share one write and one fsync.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Trajectory } from './trajectory.js';

type LogLine =
  | { kind: 'trajectory'; trajectory: Trajectory }
  | { kind: 'reward'; id: string; reward: number; rewards: Record<string, number> };

export const trajectoryLogName = 'trajectories.jsonl';

export function trajectoryLogPath(runtimeDir: string): string {
  return join(runtimeDir, trajectoryLogName);
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class TrajectoryLog {
  readonly path: string;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  static inRuntimeDir(runtimeDir: string): TrajectoryLog {
    return new TrajectoryLog(trajectoryLogPath(runtimeDir));
  }

  /** Resolves once the trajectory is on disk (fsynced). */
  append(trajectory: Trajectory): Promise<void> {
    return this.#enqueue({ kind: 'trajectory', trajectory });
  }

  /** Write a trajectory's reward back (a `reward` line that `readAll` merges into it). */
  setReward(id: string, reward: number, rewards: Record<string, number>): Promise<void> {
    return this.#enqueue({ kind: 'reward', id, reward, rewards });
  }

  /** Every trajectory in the log, rewards merged, in order of first appearance. A torn last line is skipped. */
  async readAll(): Promise<Trajectory[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const byId = new Map<string, Trajectory>();
    for (const raw of text.split('\n')) {
      if (!raw.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        continue; // a line torn by a crash mid-write
      }
      if (line.kind === 'trajectory') byId.set(line.trajectory.id, line.trajectory);
      else if (line.kind === 'reward') {
        const t = byId.get(line.id);
        if (t) byId.set(line.id, { ...t, reward: line.reward, rewards: line.rewards });
      }
    }
    return [...byId.values()];
  }

  /** Resolves once everything queued is on disk. */
  async flush(): Promise<void> {
    while (this.#flushing || this.#pending.length > 0) await (this.#flushing ?? this.#startFlush());
  }

  #enqueue(line: LogLine): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ line: `${JSON.stringify(line)}\n`, resolve, reject });
      if (!this.#flushing) void this.#startFlush();
    });
  }

  #startFlush(): Promise<void> {
    this.#flushing = this.#writeLoop().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #writeLoop(): Promise<void> {
    // Let appends made in the same tick join this batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await mkdir(dirname(this.path), { recursive: true });
        const handle = await open(this.path, 'a');
        try {
          await handle.write(batch.map((p) => p.line).join(''));
          await handle.datasync();
        } finally {
          await handle.close();
        }
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  }
}
