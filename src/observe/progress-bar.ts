/**
 * Progress for `ygg loop --until-idle`: a bar redrawn in place on a terminal (done/total, rate,
 * ETA), plain lines otherwise. `formatProgress` is pure; `ProgressWriter` feeds it from the bus.
 */
import { Writable } from 'node:stream';
import type { EventBus } from './events.js';
import { bar, formatDuration } from './monitor/format.js';

export interface ProgressFigures {
  done: number;
  total: number;
  failed: number;
  /** Elapsed since the first start. */
  elapsedMs: number;
}

/** Tasks per minute and the estimated time left, from figures alone. */
export function progressRate(p: ProgressFigures): { perMinute: number; etaMs?: number } {
  if (p.done === 0 || p.elapsedMs <= 0) return { perMinute: 0 };
  const perMs = p.done / p.elapsedMs;
  return { perMinute: perMs * 60_000, etaMs: Math.max(0, p.total - p.done) / perMs };
}

/** `[██████░░░░]  12/30  40%  3.1/min  eta 5m48s  1 failed`, at most `width` characters. */
export function formatProgress(p: ProgressFigures, width = 80, tty = true): string {
  const { perMinute, etaMs } = progressRate(p);
  const pct = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 0;
  const tail = [
    `${p.done}/${p.total}`,
    `${pct}%`,
    `${perMinute.toFixed(1)}/min`,
    `eta ${etaMs === undefined ? '–' : formatDuration(etaMs)}`,
    ...(p.failed ? [`${p.failed} failed`] : []),
  ].join('  ');
  if (!tty) return `progress: ${tail}`;
  const barWidth = Math.max(5, Math.min(30, width - tail.length - 4));
  return `[${bar(p.done, p.total, barWidth)}]  ${tail}`.slice(0, width);
}

export interface ProgressWriterOptions {
  bus: EventBus;
  /** Where the bar or lines go (stderr, usually). */
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /**
   * Ids of the tasks not finished yet (ready, being claimed, running, being written back) right
   * now; read on every update. Ids of tasks already counted as done are ignored.
   */
  pending: () => Iterable<string>;
  now?: () => number;
}

/** Draws progress as tasks finish. On a terminal, `wrap` gives a stream for logs that keeps the bar below them. */
export class ProgressWriter implements Disposable {
  readonly #options: ProgressWriterOptions;
  readonly #now: () => number;
  readonly #tty: boolean;
  readonly #off: Array<() => void>;
  readonly #doneIds = new Set<string>();
  #failed = 0;
  #firstStart: number | undefined;
  #shown = '';
  #lastCounts = '';
  #closed = false;

  constructor(options: ProgressWriterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#tty = options.stream.isTTY === true;
    const { bus } = options;
    const finished =
      (failed: boolean) =>
      ({ taskId }: { taskId: string }) => {
        if (this.#doneIds.has(taskId)) return;
        this.#doneIds.add(taskId);
        if (failed) this.#failed++;
        this.update();
      };
    this.#off = [
      bus.on('task:started', () => {
        this.#firstStart ??= this.#now();
        if (this.#tty) this.update();
      }),
      bus.on('task:succeeded', finished(false)),
      bus.on('task:dead', finished(true)),
      bus.on('task:cancelled', finished(false)),
    ];
  }

  figures(): ProgressFigures {
    const pending = new Set(this.#options.pending());
    for (const id of this.#doneIds) pending.delete(id);
    return {
      done: this.#doneIds.size,
      total: this.#doneIds.size + pending.size,
      failed: this.#failed,
      elapsedMs: this.#firstStart === undefined ? 0 : this.#now() - this.#firstStart,
    };
  }

  update(): void {
    if (this.#closed) return;
    const figures = this.figures();
    const text = formatProgress(figures, (this.#options.stream.columns || 80) - 1, this.#tty);
    const counts = `${figures.done}/${figures.total}/${figures.failed}`;
    if (this.#tty) {
      this.#shown = text;
      this.#options.stream.write(`\r\x1b[K${text}`);
    } else if (counts !== this.#lastCounts) {
      // Lines are for logs: one when the counts move, not a repeat when only the clock did.
      this.#lastCounts = counts;
      this.#options.stream.write(`${text}\n`);
    }
  }

  /** A stream whose writes appear above the bar (the bar is cleared, the text written, the bar redrawn). */
  wrap(target: NodeJS.WritableStream): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _encoding, callback) => {
        if (this.#tty && this.#shown && !this.#closed) {
          this.#options.stream.write('\r\x1b[K');
          target.write(chunk);
          this.#options.stream.write(this.#shown);
        } else {
          target.write(chunk);
        }
        callback();
      },
    });
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    for (const off of this.#off) off();
    if (this.#tty && this.#shown) this.#options.stream.write('\r\x1b[K');
    this.#closed = true;
  }
}
