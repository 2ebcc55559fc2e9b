/**
 * The per-slot timeline of timeline-svg.ts for a terminal: one row per lane, each task a bar
 * that starts with its kind's letter (`r====`), idle time blank, fitted to the width given.
 * Several panels share one time scale. Colour (one per kind) only when asked for.
 */
import type { Timeline } from './timeline-svg.js';

export interface TimelineTextOptions {
  /** Columns for the whole line, label included (at least 40 are used). */
  width: number;
  colour: boolean;
}

/** ANSI foreground colours, assigned to kinds in sorted order. */
const ansi = [34, 33, 32, 35, 36, 31];

export function timelineText(panels: readonly Timeline[], options: TimelineTextOptions): string {
  const kinds = [...new Set(panels.flatMap((p) => p.items.map((i) => i.kind)))].sort();
  const letters = kindLetters(kinds);
  const labelWidth = Math.max(4, ...panels.flatMap((p) => p.lanes.map((l) => l.length))) + 1;
  const cells = Math.max(10, Math.max(40, options.width) - labelWidth - 2);
  const endMs = Math.max(1, ...panels.flatMap((p) => p.items.map((i) => i.end)));
  const cellOf = (ms: number) => Math.min(cells, Math.round((Math.max(0, ms) / endMs) * cells));
  const paint = (kind: string, s: string) => {
    if (!options.colour) return s;
    return `\u001b[${ansi[kinds.indexOf(kind) % ansi.length]}m${s}\u001b[39m`;
  };

  const out: string[] = [];
  for (const panel of panels) {
    if (panel.title) out.push(panel.title);
    for (const lane of panel.lanes) {
      const row: Array<{ ch: string; kind?: string }> = Array.from({ length: cells }, () => ({ ch: ' ' }));
      const items = panel.items.filter((i) => i.lane === lane).sort((a, b) => a.start - b.start);
      // Every task keeps a cell of its own, even one shorter than a cell: its letter is never
      // painted over by the next, so the letters in a row count the tasks that ran there.
      let free = 0;
      for (const item of items) {
        const from = Math.max(free, cellOf(item.start));
        if (from >= cells) break;
        const to = Math.max(from + 1, cellOf(item.end));
        free = to;
        const letter = letters.get(item.kind)!;
        for (let c = from; c < to && c < cells; c += 1)
          row[c] = { ch: c === from ? letter : '=', kind: item.kind };
      }
      // One colour escape per run of cells of a kind, not per cell.
      let bar = '';
      for (let c = 0; c < cells; ) {
        const kind = row[c]!.kind;
        let end = c + 1;
        while (end < cells && row[end]!.kind === kind) end += 1;
        const text = row
          .slice(c, end)
          .map((cell) => cell.ch)
          .join('');
        bar += kind ? paint(kind, text) : text;
        c = end;
      }
      out.push(`${lane.padEnd(labelWidth)}|${bar}|`);
    }
    out.push(axisLine(labelWidth, cells, endMs));
    out.push('');
  }
  out.push(
    `${kinds.map((k) => `${paint(k, letters.get(k)!)} ${k}`).join('   ')}   (a row per slot; = running, blank idle)`,
  );
  return `${out.join('\n')}\n`;
}

/** `0 s` under the start, the end time under the end, one mark between. */
function axisLine(labelWidth: number, cells: number, endMs: number): string {
  const end = formatSeconds(endMs);
  const mid = formatSeconds(endMs / 2);
  const line = Array.from({ length: cells + 2 }, () => ' ');
  const put = (at: number, s: string) => {
    for (let i = 0; i < s.length && at + i < line.length; i += 1) line[Math.max(0, at + i)] = s[i]!;
  };
  put(0, '0 s');
  put(Math.floor((cells + 2) / 2 - mid.length / 2), mid);
  put(cells + 2 - end.length, end);
  return `${' '.repeat(labelWidth)}${line.join('')}`.trimEnd();
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
}

/** A distinct letter per kind: its first letter not already taken, else a digit. */
export function kindLetters(kinds: readonly string[]): Map<string, string> {
  const taken = new Set<string>();
  const letters = new Map<string, string>();
  for (const kind of kinds) {
    const pick =
      [...kind.toLowerCase()].find((c) => /[a-z]/.test(c) && !taken.has(c)) ??
      [...'0123456789'].find((c) => !taken.has(c)) ??
      '#';
    taken.add(pick);
    letters.set(kind, pick);
  }
  return letters;
}
