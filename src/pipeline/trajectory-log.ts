/**
 * The trajectory log: one JSON line per event in `.ygg/trajectories.jsonl`. A trajectory is
 * appended once when its rollout ends; its reward is appended later as a `reward` line naming it,
 * so nothing is ever rewritten. Appends queued together share one write and one fsync.
 *
 * Retention rotates the log by renaming it whole to the next segment (`trajectories.000001.jsonl`,
 * ...) and removes the oldest segments first. Readers read the segments in order, then the live
 * file: a rename never splits a line (an append already open lands in the segment, still read),
 * and a reward whose trajectory went with a removed segment is ignored.
 */
import { mkdir, open, readdir, readFile, rename, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Trajectory } from './trajectory.js';

type LogLine =
  | { kind: 'trajectory'; trajectory: Trajectory }
  | { kind: 'reward'; id: string; reward: number; rewards: Record<string, number> };

export const trajectoryLogName = 'trajectories.jsonl';

export function trajectoryLogPath(runtimeDir: string): string {
  return join(runtimeDir, trajectoryLogName);
}

export interface TrajectorySegment {
  path: string;
  /** Its place in the order of rotation (1 is the first ever rotated). */
  seq: number;
}

const segmentStem = (path: string) => basename(path).replace(/\.jsonl$/, '');

/** The rotated segments of the log at `path`, oldest first. */
export async function trajectorySegments(path: string): Promise<TrajectorySegment[]> {
  const pattern = new RegExp(`^${escapeRegExp(segmentStem(path))}\\.(\\d+)\\.jsonl$`);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .flatMap((name) => {
      const match = pattern.exec(name);
      return match ? [{ path: join(dirname(path), name), seq: Number(match[1]) }] : [];
    })
    .sort((a, b) => a.seq - b.seq);
}

/**
 * Renames the live log to the next segment once it holds `minBytes` or more. Returns the
 * segment's path, or undefined when the log is smaller (or absent).
 */
export async function rotateTrajectoryLog(path: string, minBytes: number): Promise<string | undefined> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (size === 0 || size < minBytes) return undefined;
  const last = (await trajectorySegments(path)).at(-1)?.seq ?? 0;
  const segment = join(dirname(path), `${segmentStem(path)}.${String(last + 1).padStart(6, '0')}.jsonl`);
  await rename(path, segment);
  return segment;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function readIfPresent(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
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

  /**
   * Every trajectory in the log (its segments oldest first, then the live file), rewards merged,
   * in order of first appearance. A torn line is skipped.
   */
  async readAll(): Promise<Trajectory[]> {
    const byId = new Map<string, Trajectory>();
    // A segment removed between the listing and the read reads as empty: it is gone either way.
    for (const segment of await trajectorySegments(this.path))
      this.#merge(await readIfPresent(segment.path), byId);
    this.#merge(await readIfPresent(this.path), byId);
    return [...byId.values()];
  }

  #merge(text: string, byId: Map<string, Trajectory>): void {
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
