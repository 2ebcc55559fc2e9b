/**
 * A run drawn as a per-slot timeline, in SVG: one row per lane (a host's slot), one rect per
 * item (a task's run), one panel per run, every panel on the same time scale so that two runs
 * compare by eye. Hand-drawn SVG, no dependency: a pure function from data to a string, with
 * every piece of text XML-escaped by the charts' one escaper (svg.ts), as the web view's charts are.
 */
import { escapeXml, px } from './svg.js';

export interface TimelineItem {
  lane: string;
  /** Milliseconds from the run's start. */
  start: number;
  end: number;
  /** Shown as the rect's tooltip. */
  label: string;
  /** Picks the colour (a task's type); the legend lists each kind once. */
  kind: string;
}

export interface Timeline {
  /** The panel's heading ("async: 10.7 s"). */
  title?: string;
  /** Rows, top to bottom; an item whose lane is not listed is not drawn. */
  lanes: readonly string[];
  items: readonly TimelineItem[];
}

export interface TimelineSvgOptions {
  /** Width of the whole picture in px (default 900). */
  width?: number;
  /** The picture's title (an SVG <title>, and a heading). */
  title?: string;
}

/** Colour-blind-safe (Okabe-Ito), assigned to kinds in sorted order. */
const palette = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];

const laneHeight = 18;
const laneGap = 4;
const labelWidth = 150;
const margin = 12;
const headingHeight = 22;
const axisHeight = 26;
const panelGap = 18;
const legendHeight = 24;

/** An SVG document of the panels, side by side in time (stacked, one scale). */
export function timelineSvg(panels: readonly Timeline[], options: TimelineSvgOptions = {}): string {
  const width = Math.max(300, Math.round(options.width ?? 900));
  const plotLeft = margin + labelWidth;
  const plotWidth = width - plotLeft - margin;
  const endMs = Math.max(1, ...panels.flatMap((p) => p.items.map((i) => i.end)));
  const x = (ms: number) => plotLeft + (Math.max(0, ms) / endMs) * plotWidth;
  const kinds = [...new Set(panels.flatMap((p) => p.items.map((i) => i.kind)))].sort();
  const colour = new Map(kinds.map((k, i) => [k, palette[i % palette.length]!]));

  const parts: string[] = [];
  let y = margin;
  if (options.title) {
    parts.push(text(margin, y + 14, options.title, 'font-size="15" font-weight="bold"'));
    y += headingHeight;
  }
  parts.push(legend(kinds, colour, margin, y));
  y += legendHeight;
  for (const panel of panels) {
    const { svg, height } = drawPanel(panel, { y, x, plotLeft, plotWidth, endMs, colour });
    parts.push(svg);
    y += height + panelGap;
  }
  const height = y - panelGap + margin;
  const title = options.title ? `<title>${escapeXml(options.title)}</title>` : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    title,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

interface Frame {
  y: number;
  x(ms: number): number;
  plotLeft: number;
  plotWidth: number;
  endMs: number;
  colour: ReadonlyMap<string, string>;
}

function drawPanel(panel: Timeline, f: Frame): { svg: string; height: number } {
  const out: string[] = ['<g class="panel">'];
  let y = f.y;
  if (panel.title) {
    out.push(text(margin, y + 14, panel.title, 'font-size="13" font-weight="bold"'));
    y += headingHeight;
  }
  const row = new Map(panel.lanes.map((lane, i) => [lane, y + i * (laneHeight + laneGap)]));
  panel.lanes.forEach((lane, i) => {
    const top = y + i * (laneHeight + laneGap);
    // Cut to fit the label column (about 6 px a character); the full name is its tooltip.
    const shown = lane.length > 24 ? `${lane.slice(0, 23)}…` : lane;
    out.push(
      `<text x="${margin}" y="${top + laneHeight - 5}">${escapeXml(shown)}<title>${escapeXml(lane)}</title></text>`,
    );
    out.push(
      `<line x1="${f.plotLeft}" y1="${top + laneHeight}" x2="${f.plotLeft + f.plotWidth}" y2="${top + laneHeight}" stroke="#dddddd"/>`,
    );
  });
  for (const item of panel.items) {
    const top = row.get(item.lane);
    if (top === undefined) continue;
    const left = f.x(item.start);
    const w = Math.max(1, f.x(item.end) - left);
    out.push(
      `<rect class="task" data-kind="${escapeXml(item.kind)}" x="${px(left)}" y="${top}" width="${px(w)}" height="${laneHeight}" fill="${f.colour.get(item.kind)}" stroke="#ffffff" stroke-width="1"><title>${escapeXml(`${item.label} (${item.kind}): ${seconds(item.start)} to ${seconds(item.end)}`)}</title></rect>`,
    );
  }
  y += panel.lanes.length * (laneHeight + laneGap);
  out.push(axis(f, y));
  out.push('</g>');
  return { svg: out.join('\n'), height: y + axisHeight - f.y };
}

/** Ticks at round seconds (or fractions), about eight of them. */
function axis(f: Frame, y: number): string {
  const step = niceStep(f.endMs / 8);
  const out = [
    `<line x1="${f.plotLeft}" y1="${y}" x2="${f.plotLeft + f.plotWidth}" y2="${y}" stroke="#555555"/>`,
  ];
  for (let t = 0; t <= f.endMs + 1e-9; t += step) {
    const tx = px(f.x(t));
    out.push(`<line x1="${tx}" y1="${y}" x2="${tx}" y2="${y + 4}" stroke="#555555"/>`);
    out.push(text(Number(tx), y + 16, seconds(t), 'text-anchor="middle" fill="#555555"'));
  }
  return out.join('\n');
}

function legend(
  kinds: readonly string[],
  colour: ReadonlyMap<string, string>,
  left: number,
  y: number,
): string {
  const out = ['<g class="legend">'];
  let x = left;
  for (const kind of kinds) {
    out.push(
      `<rect class="swatch" x="${x}" y="${y + 3}" width="12" height="12" fill="${colour.get(kind)}"/>`,
    );
    out.push(text(x + 16, y + 13, kind));
    x += 16 + kind.length * 7 + 18;
  }
  out.push('</g>');
  return out.join('\n');
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-3)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 ? s.toFixed(1) : s.toFixed(2).replace(/\.?0+$/, '') || '0'} s`;
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${px(x)}" y="${px(y)}"${attributes ? ` ${attributes}` : ''}>${escapeXml(content)}</text>`;
}
