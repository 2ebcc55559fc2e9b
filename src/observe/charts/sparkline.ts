/**
 * A GPU's recent utilisation and memory as two small lines (0..100 %), named above them (host,
 * index, model) with the latest values beside them. One circle per sample on the utilisation line
 * marks the data points; the latest sample sits at the right edge, the others by their age.
 */
import type { GpuSeries } from '../activity.js';
import { el, escapeXml, px, svg } from './svg.js';

const width = 220;
const plotW = 150;
/** Room above the plot for the GPU's name. */
const top = 14;
const plotH = 40;
const height = top + plotH;

export function gpuSparkline(series: GpuSeries): string {
  const samples = series.samples;
  const first = samples[0]?.[0] ?? 0;
  const last = samples.at(-1)?.[0] ?? first;
  const span = Math.max(1, last - first);
  const x = (at: number) => plotW - 2 - ((last - at) / span) * (plotW - 4);
  const y = (fraction: number) => top + 4 + (1 - Math.min(1, Math.max(0, fraction))) * (plotH - 8);
  const line = (pick: 1 | 2, colour: string, cls: string) => {
    const points = samples
      .filter((s) => s[pick] !== null)
      .map((s) => `${px(x(s[0]))},${px(y(s[pick] as number))}`)
      .join(' ');
    return points
      ? el('polyline', { class: cls, points, fill: 'none', stroke: colour, 'stroke-width': 1.5 })
      : '';
  };
  const dots = samples
    .filter((s) => s[1] !== null)
    .map((s) =>
      el('circle', { class: 'sample', cx: x(s[0]), cy: y(s[1] as number), r: 1.2, fill: '#4a9fe0' }),
    )
    .join('');
  const label = `${series.host} GPU${series.index}${series.name ? ` ${series.name}` : ''}`;
  const latest = samples.at(-1);
  const pct = (v: number | null | undefined) =>
    v === null || v === undefined ? '?' : `${Math.round(v * 100)}%`;
  const text = [
    el('text', { class: 'name', x: 0, y: 10, 'font-size': 10, fill: '#8a939c' }, escapeXml(label)),
    el('text', { x: plotW + 6, y: top + 12, 'font-size': 10, fill: '#4a9fe0' }, `util ${pct(latest?.[1])}`),
    el('text', { x: plotW + 6, y: top + 26, 'font-size': 10, fill: '#b07be0' }, `mem ${pct(latest?.[2])}`),
  ].join('');
  const frame = el('rect', {
    x: 0.5,
    y: top + 0.5,
    width: plotW,
    height: plotH - 1,
    fill: 'none',
    stroke: '#2a313a',
  });
  return svg(
    width,
    height,
    `${frame}${line(2, '#b07be0', 'memory')}${line(1, '#4a9fe0', 'utilization')}${dots}${text}`,
    label,
  );
}
