import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/observe/events.js';
import { formatProgress, ProgressWriter, progressRate } from '../../src/observe/progress-bar.js';

describe('progress', () => {
  it('formats done/total, percent, rate and ETA', () => {
    const p = { done: 12, total: 30, failed: 1, elapsedMs: 4 * 60_000 };
    expect(progressRate(p)).toEqual({ perMinute: 3, etaMs: 6 * 60_000 });
    const line = formatProgress(p, 80);
    expect(line).toMatch(/^\[█+░+\] {2}12\/30 {2}40% {2}3\.0\/min {2}eta 6m00s {2}1 failed$/);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(formatProgress(p, 80, false)).toBe('progress: 12/30  40%  3.0/min  eta 6m00s  1 failed');
    expect(formatProgress({ done: 0, total: 5, failed: 0, elapsedMs: 0 }, 80, false)).toContain('eta –');
  });

  it('writes a line per finished task when not on a terminal', () => {
    const bus = new EventBus();
    const out = new PassThrough();
    let text = '';
    out.setEncoding('utf8').on('data', (d: string) => {
      text += d;
    });
    // `a` is still being written back when it is reported: counted once, as done.
    let pending = ['a', 'b'];
    let now = 0;
    using writer = new ProgressWriter({ bus, stream: out, pending: () => pending, now: () => now });
    bus.emit('task:started', { taskId: 'a', type: 'general', host: 'h', attempt: 1, handler: 's' });
    now = 30_000;
    bus.emit('task:succeeded', { taskId: 'a', type: 'general', host: 'h', attempt: 1, runMs: 1 });
    now = 60_000;
    pending = ['b'];
    bus.emit('task:dead', { taskId: 'b', type: 'general', attempts: 3, error: 'x' });
    expect(writer.figures()).toEqual({ done: 2, total: 2, failed: 1, elapsedMs: 60_000 });
    expect(text.trim().split('\n')).toEqual([
      'progress: 1/2  50%  2.0/min  eta 30s',
      'progress: 2/2  100%  2.0/min  eta 0ms  1 failed',
    ]);
  });
});
