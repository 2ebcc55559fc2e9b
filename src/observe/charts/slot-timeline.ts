/**
 * Recent attempts per host as a timeline: one row per slot in use, one bar per attempt (running
 * ones reach "now"), coloured by outcome. Rows are laid out as the attempts overlapped (an attempt
 * takes the first row free at its start), so a host never shows more rows than it ran at once.
 */
import type { AttemptSpan } from '../activity.js';
import { clockLabel, el, escapeXml, svg } from './svg.js';

const width = 640;
const rowH = 14;
const labelW = 90;
const pad = { right: 8, top: 6, bottom: 18 };
const maxWindowMs = 15 * 60_000;
const minWindowMs = 10_000;

const colours: Record<string, string> = {
  succeeded: '#4caf50',
  failed: '#e05252',
  lost: '#e05252',
  cancelled: '#8a939c',
  running: '#4a9fe0',
};

/** Attempts of one host put in rows so that none overlaps another in its row. */
export function lanes(spans: readonly AttemptSpan[], now: number): AttemptSpan[][] {
  const rows: { end: number; spans: AttemptSpan[] }[] = [];
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    const row = rows.find((r) => r.end <= span.start);
    const end = span.end ?? now;
    if (row) {
      row.spans.push(span);
      row.end = end;
    } else rows.push({ end, spans: [span] });
  }
  return rows.map((r) => r.spans);
}

export function slotTimeline(
  attempts: readonly AttemptSpan[],
  now: number,
  hosts: readonly string[] = [],
): string {
  const earliest = Math.min(now - minWindowMs, ...attempts.map((a) => a.start));
  const from = Math.max(now - maxWindowMs, earliest);
  const shown = attempts.filter((a) => (a.end ?? now) >= from);
  const names = [...new Set([...hosts, ...shown.map((a) => a.host)])];
  const rows = names.flatMap((host) => {
    const hostRows = lanes(
      shown.filter((a) => a.host === host),
      now,
    );
    return (hostRows.length ? hostRows : [[]]).map((spans, index) => ({ host, index, spans }));
  });
  const plotW = width - labelW - pad.right;
  const x = (at: number) => labelW + ((Math.max(at, from) - from) / (now - from)) * plotW;
  const height = pad.top + rows.length * rowH + pad.bottom;
  const body = rows
    .map((row, i) => {
      const y = pad.top + i * rowH;
      const label =
        row.index === 0
          ? el('text', { x: 4, y: y + rowH - 3, 'font-size': 10, fill: '#8a939c' }, escapeXml(row.host))
          : '';
      const bars = row.spans
        .map((span) => {
          const state = span.outcome ?? 'running';
          const end = span.end ?? now;
          const seconds = ((end - span.start) / 1000).toFixed(1);
          return el(
            'rect',
            {
              class: `attempt ${state}`,
              x: x(span.start),
              y: y + 2,
              width: Math.max(1.5, x(end) - x(span.start)),
              height: rowH - 4,
              rx: 2,
              fill: colours[state] ?? colours.running,
              'data-task': span.id,
              'data-host': span.host,
            },
            el('title', {}, escapeXml(`${span.id} on ${span.host}: ${state}, ${seconds} s`)),
          );
        })
        .join('');
      return `${label}${bars}`;
    })
    .join('');
  const axisY = pad.top + rows.length * rowH + 12;
  const axis = [
    el('text', { x: labelW, y: axisY, 'font-size': 10, fill: '#8a939c' }, clockLabel(from)),
    el(
      'text',
      { x: width - pad.right, y: axisY, 'text-anchor': 'end', 'font-size': 10, fill: '#8a939c' },
      'now',
    ),
  ].join('');
  return svg(width, height, `${body}${axis}`, 'recent attempts per host slot');
}
