/**
 * Queue depth and throughput over the last hour: one bar per 10-second bucket for the attempts
 * that ended (throughput), a line for the tasks waiting in the queue. Each bucket with anything
 * in it is a data point (`data-ended`, `data-queued`), so a test can count what ran.
 */
import type { ActivityBucket } from '../activity.js';
import { bucketMs } from '../activity.js';
import { clockLabel, el, px, svg } from './svg.js';

const width = 640;
const height = 150;
const pad = { left: 34, right: 8, top: 10, bottom: 20 };
const hourMs = 3_600_000;

export function activityChart(buckets: readonly ActivityBucket[], now: number): string {
  const from = now - hourMs;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = (at: number) => pad.left + ((at - from) / hourMs) * plotW;
  const shown = buckets.filter((b) => b.at + bucketMs > from);
  const top = Math.max(1, ...shown.map((b) => Math.max(b.ended, b.queued)));
  const y = (value: number) => pad.top + plotH - (value / top) * plotH;
  const barW = Math.max(1, (bucketMs / hourMs) * plotW - 0.5);

  const bars = shown
    .filter((b) => b.ended > 0)
    .map((b) =>
      el(
        'rect',
        {
          class: 'ended',
          x: x(b.at),
          y: y(b.ended),
          width: barW,
          height: pad.top + plotH - y(b.ended),
          fill: '#4a9fe0',
          'data-ended': b.ended,
        },
        el('title', {}, `${clockLabel(b.at)}: ${b.ended} ended, ${b.queued} queued`),
      ),
    )
    .join('');
  const queuedPoints = shown.map((b) => `${px(x(b.at + bucketMs / 2))},${px(y(b.queued))}`).join(' ');
  const queueLine = shown.length
    ? el('polyline', {
        class: 'queued',
        points: queuedPoints,
        fill: 'none',
        stroke: '#e0a030',
        'stroke-width': 1.5,
      })
    : '';
  const dots = shown
    .filter((b) => b.queued > 0)
    .map((b) =>
      el('circle', {
        class: 'queued',
        cx: x(b.at + bucketMs / 2),
        cy: y(b.queued),
        r: 1.8,
        fill: '#e0a030',
        'data-queued': b.queued,
      }),
    )
    .join('');
  const axis = [
    el('line', {
      x1: pad.left,
      y1: pad.top + plotH,
      x2: width - pad.right,
      y2: pad.top + plotH,
      stroke: '#8a939c',
    }),
    el(
      'text',
      { x: pad.left - 4, y: pad.top + 8, 'text-anchor': 'end', 'font-size': 10, fill: '#8a939c' },
      String(top),
    ),
    el('text', { x: pad.left, y: height - 5, 'font-size': 10, fill: '#8a939c' }, clockLabel(from)),
    el(
      'text',
      { x: width - pad.right, y: height - 5, 'text-anchor': 'end', 'font-size': 10, fill: '#8a939c' },
      'now',
    ),
    el('text', { x: pad.left + 4, y: pad.top + 8, 'font-size': 10, fill: '#4a9fe0' }, 'ended per 10 s'),
    el('text', { x: pad.left + 100, y: pad.top + 8, 'font-size': 10, fill: '#e0a030' }, 'queued'),
  ].join('');
  return svg(width, height, `${axis}${bars}${queueLine}${dots}`, 'queue depth and throughput, last hour');
}
