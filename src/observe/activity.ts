/**
 * What the web view's charts draw, kept by a running loop from its bus: per 10-second bucket over
 * the last hour the queue's depth, the attempts running and the attempts that ended; the recent
 * attempts per host (start, end, outcome) for a slot timeline; and each GPU's recent samples.
 * Everything is bounded, so a loop that runs for weeks holds an hour of figures.
 */
import type { EventBus } from './events.js';

export const bucketMs = 10_000;
const hourBuckets = 360;
const maxAttempts = 300;
const maxGpuSamples = 120;
/** The queue's depth is read at most this often (it walks the ready tasks). */
const queueReadMs = 1_000;

export interface ActivityBucket {
  /** Start of the bucket, ms since the epoch. */
  at: number;
  /** Ready tasks waiting, the most seen in the bucket. */
  queued: number;
  /** Attempts running, the most seen in the bucket. */
  running: number;
  /** Attempts that ended in the bucket (any outcome). */
  ended: number;
}

export interface AttemptSpan {
  id: string;
  host: string;
  start: number;
  /** Absent while it runs. */
  end?: number;
  outcome?: 'succeeded' | 'failed' | 'cancelled' | 'lost';
}

export interface GpuSeries {
  host: string;
  index: number;
  name?: string;
  /** [ms since the epoch, utilisation 0..1, memory used 0..1] per sample. */
  samples: Array<[number, number | null, number | null]>;
}

export interface Activity {
  now: number;
  buckets: ActivityBucket[];
  attempts: AttemptSpan[];
  gpus: GpuSeries[];
}

export class ActivityRecorder implements Disposable {
  readonly #now: () => number;
  readonly #queued: () => number;
  readonly #buckets: ActivityBucket[] = [];
  readonly #attempts: AttemptSpan[] = [];
  readonly #open = new Map<string, AttemptSpan>();
  readonly #gpus = new Map<string, GpuSeries>();
  readonly #off: Array<() => void>;
  #queueReadAt = Number.NEGATIVE_INFINITY;
  #lastQueued = 0;

  constructor(bus: EventBus, options: { queued: () => number; now?: () => number }) {
    this.#now = options.now ?? Date.now;
    this.#queued = options.queued;
    const ended =
      (outcome: NonNullable<AttemptSpan['outcome']>) =>
      ({ taskId }: { taskId: string }) =>
        this.#end(taskId, outcome);
    this.#off = [
      bus.on('task:started', ({ taskId, host }) => this.#start(taskId, host)),
      bus.on('task:succeeded', ended('succeeded')),
      bus.on('task:failed', ended('failed')),
      bus.on('task:cancelled', ended('cancelled')),
      bus.on('task:lost', ended('lost')),
      bus.on('gpu:sample', ({ host, gpus }) => {
        const at = this.#now();
        for (const g of gpus) {
          const key = `${host}\u0000${g.index}`;
          const series = this.#gpus.get(key) ?? { host, index: g.index, name: g.name, samples: [] };
          const memory =
            g.memoryUsedBytes !== undefined && g.memoryTotalBytes
              ? g.memoryUsedBytes / g.memoryTotalBytes
              : null;
          series.samples.push([at, g.utilization ?? null, memory]);
          if (series.samples.length > maxGpuSamples) series.samples.shift();
          this.#gpus.set(key, series);
        }
      }),
      bus.on('task:claimed', () => this.#touch()),
    ];
    // A bucket every 10 s whether or not anything happens or anyone looks: tasks that arrive and
    // wait emit no event, and the hour's line must not be drawn straight across a quiet spell.
    const sampler = setInterval(() => this.#touch(), bucketMs);
    sampler.unref();
    this.#off.push(() => clearInterval(sampler));
  }

  /** The figures as they stand, copied. */
  activity(): Activity {
    this.#touch(true);
    const now = this.#now();
    return {
      now,
      buckets: this.#buckets.filter((b) => b.at > now - hourBuckets * bucketMs).map((b) => ({ ...b })),
      attempts: this.#attempts.map((a) => ({ ...a })),
      gpus: [...this.#gpus.values()].map((g) => ({
        ...g,
        samples: g.samples.map((s) => [...s] as typeof s),
      })),
    };
  }

  #start(taskId: string, host: string): void {
    const span: AttemptSpan = { id: taskId, host, start: this.#now() };
    this.#open.set(taskId, span);
    this.#attempts.push(span);
    if (this.#attempts.length > maxAttempts) {
      const dropped = this.#attempts.shift();
      if (dropped && this.#open.get(dropped.id) === dropped) this.#open.delete(dropped.id);
    }
    this.#touch();
  }

  #end(taskId: string, outcome: NonNullable<AttemptSpan['outcome']>): void {
    const span = this.#open.get(taskId);
    this.#open.delete(taskId);
    if (span) {
      span.end = this.#now();
      span.outcome = outcome;
    }
    this.#bucket().ended += 1;
    this.#touch();
  }

  /** Records the queue's depth and the attempts running in the current bucket. */
  #touch(force = false): void {
    const now = this.#now();
    if (force || now - this.#queueReadAt >= queueReadMs) {
      this.#queueReadAt = now;
      this.#lastQueued = this.#queued();
    }
    const bucket = this.#bucket();
    bucket.queued = Math.max(bucket.queued, this.#lastQueued);
    bucket.running = Math.max(bucket.running, this.#open.size);
  }

  #bucket(): ActivityBucket {
    const at = Math.floor(this.#now() / bucketMs) * bucketMs;
    const last = this.#buckets.at(-1);
    if (last && last.at === at) return last;
    const bucket = { at, queued: 0, running: 0, ended: 0 };
    this.#buckets.push(bucket);
    if (this.#buckets.length > hourBuckets) this.#buckets.shift();
    return bucket;
  }

  [Symbol.dispose](): void {
    for (const off of this.#off) off();
  }
}
