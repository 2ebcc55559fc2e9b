import { describe, expect, it } from 'vitest';
import { activityChart } from '../../src/observe/charts/activity-chart.js';
import { lanes, slotTimeline } from '../../src/observe/charts/slot-timeline.js';
import { gpuSparkline } from '../../src/observe/charts/sparkline.js';

const now = Date.parse('2026-12-03T12:00:00Z');

describe('charts drawn as SVG', () => {
  it('puts overlapping attempts in separate rows and reuses a row once it is free', () => {
    const rows = lanes(
      [
        { id: 'a', host: 'h', start: 0, end: 10 },
        { id: 'b', host: 'h', start: 5, end: 15 },
        { id: 'c', host: 'h', start: 10, end: 20 },
        { id: 'd', host: 'h', start: 16 },
      ],
      30,
    );
    expect(rows.map((r) => r.map((s) => s.id))).toEqual([
      ['a', 'c'],
      ['b', 'd'],
    ]);
  });

  it('draws one bar per attempt, escapes task ids and host names, and shows hosts that ran nothing', () => {
    const svg = slotTimeline(
      [
        { id: 'bd-1', host: 'surtr', start: now - 5_000, end: now - 4_000, outcome: 'succeeded' },
        { id: 'bd-<2>', host: 'a&b', start: now - 3_000 },
      ],
      now,
      ['surtr', 'idle'],
    );
    expect(svg.match(/<rect class="attempt/g)).toHaveLength(2);
    expect(svg).toContain('data-task="bd-&lt;2&gt;"');
    expect(svg).toContain('>a&amp;b<');
    expect(svg).toContain('>idle<');
    expect(svg).not.toContain('bd-<2>');
  });

  it('counts each bucket that had ended attempts as a bar and marks the queue depth', () => {
    const svg = activityChart(
      [
        { at: now - 20_000, queued: 3, running: 2, ended: 4 },
        { at: now - 10_000, queued: 0, running: 1, ended: 0 },
        { at: now - 2 * 3_600_000, queued: 9, running: 0, ended: 9 },
      ],
      now,
    );
    expect(svg.match(/<rect class="ended"/g)).toHaveLength(1);
    expect(svg).toContain('data-ended="4"');
    expect(svg).toContain('data-queued="3"');
    expect(svg).not.toContain('data-ended="9"');
  });

  it('draws a GPU sparkline with one point per sample and the latest values', () => {
    const svg = gpuSparkline({
      host: 'skadi',
      index: 0,
      name: 'H100',
      samples: [
        [now - 20_000, 0.1, 0.5],
        [now - 10_000, 0.9, 0.6],
        [now, null, 0.7],
      ],
    });
    expect(svg.match(/<circle class="sample"/g)).toHaveLength(2);
    expect(svg).toContain('util ?');
    expect(svg).toContain('mem 70%');
  });

  it('names the GPU above its sparkline and puts a lone first sample at the right edge, where now is', () => {
    const svg = gpuSparkline({ host: 'a&b', index: 1, name: 'H100', samples: [[now, 0.5, 0.25]] });
    expect(svg).toMatch(/<text class="name"[^>]*>a&amp;b GPU1 H100<\/text>/);
    const cx = Number(/<circle class="sample" cx="([\d.]+)"/.exec(svg)?.[1]);
    expect(cx).toBeGreaterThan(140);
  });
});
