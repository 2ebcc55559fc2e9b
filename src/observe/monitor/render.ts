/**
 * The `ygg monitor` frame: a pure function of (snapshot, view state, terminal size, colour),
 * returning exactly `size.rows` lines, none wider than `size.columns`. Sections shrink to fit;
 * the footer with the keys is always shown.
 */

import { clipMiddle } from '../../text/cell.js';
import type { DatabaseStatus, LearnerStatus, StatusSnapshot } from '../snapshot.js';
import { bar, cell, clip, formatDuration, gib } from './format.js';

export interface ViewState {
  /** Index into `selectable(snapshot)`; clamped when the list is shorter. */
  selected: number;
  /** A question waiting for y/n, shown on the last line. */
  prompt?: string;
  /** A line of feedback (last action's result). */
  message?: string;
  /** Why the live view is not available (shown in the header). */
  offline?: string;
}

export interface Size {
  columns: number;
  rows: number;
}

export type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow' | 'cyan' | 'inverse';
/** `middle`: cut a too-long text in its middle rather than at its end (an error, whose end says why). */
type Segment = [text: string, style?: Style, cut?: 'middle'];

const sgr: Record<Style, string> = {
  bold: '1',
  dim: '2',
  green: '32',
  red: '31',
  yellow: '33',
  cyan: '36',
  inverse: '7',
};

/** A task the keys act on: running ones (cancel) then dead ones (retry). */
export interface Selectable {
  id: string;
  kind: 'running' | 'dead';
}

export function selectable(snapshot: StatusSnapshot): Selectable[] {
  return [
    ...snapshot.running.map((r) => ({ id: r.id, kind: 'running' as const })),
    ...snapshot.deadLetters.tasks.map((d) => ({ id: d.id, kind: 'dead' as const })),
  ];
}

export function clampSelection(snapshot: StatusSnapshot, selected: number): number {
  const count = selectable(snapshot).length;
  return count === 0 ? 0 : Math.max(0, Math.min(count - 1, selected));
}

const outcomeMarks: Record<string, Segment> = {
  succeeded: ['✓', 'green'],
  failed: ['✗', 'red'],
  dead: ['✗', 'red'],
  lost: ['?', 'red'],
  retry: ['↻', 'yellow'],
  cancelled: ['–', 'dim'],
};

/** `DATABASE UNREACHABLE since 10:42:07, claiming paused` (the time on this machine's clock). */
export function databaseText(database: DatabaseStatus): string {
  const since = new Date(database.since);
  const time = Number.isNaN(since.getTime()) ? database.since : since.toTimeString().slice(0, 8);
  return `DATABASE UNREACHABLE since ${time}, claiming paused`;
}

export function renderFrame(snapshot: StatusSnapshot, view: ViewState, size: Size, color = false): string[] {
  const width = Math.max(20, size.columns);
  const rows = Math.max(6, size.rows);
  const items = selectable(snapshot);
  const selected = items.length > 0 ? items[clampSelection(snapshot, view.selected)] : undefined;
  const line = (...segments: Segment[]): Segment[] => segments;

  // Header and fixed lines.
  const t = snapshot.throughput;
  const loops = snapshot.loops ?? [];
  const loopText = view.offline
    ? view.offline
    : loops.length > 1
      ? `${loops.length} loops: ${loops.map((l) => `${l.name} ${l.view === 'live' ? (l.state ?? 'running') : l.view}`).join(', ')}`
      : snapshot.loop.running
        ? `loop ${snapshot.loop.state ?? 'running'}${snapshot.loop.pid ? ` pid ${snapshot.loop.pid}` : ''}`
        : 'loop not running (store only)';
  const header = line(
    ['ygg ', 'bold'],
    [loopText, snapshot.loop.running && !view.offline ? 'green' : 'yellow'],
    [` · ${t.perMinute.toFixed(1)}/min · wait ${formatDuration(t.meanWaitMs)} · ${t.done} done`],
    ...(snapshot.paused ? [[' PAUSED', 'red'] as Segment] : []),
  );
  const queueParts = snapshot.queue.depth.map((d) => `${d.type} P${d.priority}:${d.count}`);
  const queue = line(
    ['Queue ', 'bold'],
    [`${snapshot.queue.total} ready`],
    ...(snapshot.queue.retrying ? [[`, ${snapshot.queue.retrying} backoff`, 'yellow'] as Segment] : []),
    [queueParts.length ? ` · ${queueParts.join('  ')}` : ''],
  );
  const footer = view.prompt
    ? line([view.prompt, 'yellow'])
    : view.message
      ? line([view.message, 'cyan'])
      : line(['↑↓ select  c cancel  r retry dead  q quit', 'dim']);

  // Hosts.
  const nameW = Math.min(16, Math.max(4, ...snapshot.hosts.map((h) => h.name.length)));
  const hostLines = snapshot.hosts.map((h) => {
    const state: Segment = [
      cell(h.draining ? 'drain' : h.state, 8),
      h.state === 'up' ? 'green' : h.state === 'down' ? 'red' : 'dim',
    ];
    const slots = `${h.slots.used}/${h.slots.effective}`;
    const gpu = h.gpus
      .map(
        (g) =>
          `G${g.index} ${g.utilization === undefined ? '?' : Math.round(g.utilization * 100)}% ${gib(g.memoryUsedBytes)}/${gib(g.memoryTotalBytes)}G`,
      )
      .join(' ');
    const tail = h.state === 'down' && h.error ? h.error : gpu;
    return line(
      [` ${cell(h.name, nameW)} `],
      state,
      [`${cell(slots, 5)} `],
      [bar(h.slots.used, h.slots.effective, 10), 'cyan'],
      [tail ? ` ${tail}` : '', h.state === 'down' ? 'red' : 'dim', h.state === 'down' ? 'middle' : undefined],
    );
  });

  // Running, recent, dead.
  const idW = Math.min(14, Math.max(6, ...items.map((i) => i.id.length)));
  const runningLines = snapshot.running.map((r) => {
    const mark = selected?.kind === 'running' && selected.id === r.id;
    const by = r.loop ? ` ${cell(r.loop, 10)}` : '';
    const right = ` ${cell(r.host, 8)}${by} ${formatDuration(r.elapsedMs).padStart(6)}`;
    const progress = r.progress ? ` ${r.progress}` : '';
    const titleW = Math.max(4, width - 3 - idW - right.length - 1);
    return line(
      [mark ? '▶ ' : '  ', mark ? 'inverse' : undefined],
      [`${cell(r.id, idW)} `, 'bold'],
      [cell(`${r.title}${progress}`, titleW)],
      [right],
    );
  });
  const recentLines = snapshot.recent.map((o) => {
    const [mark, style] = outcomeMarks[o.outcome] ?? ['·', undefined];
    const detail = o.error ? o.error : o.title;
    return line(
      [` ${mark} `, style],
      [`${cell(o.id, idW)} `],
      [cell(o.outcome, 9), style],
      [` ${cell(o.host ?? '', 8)} `],
      [formatDuration(o.runMs).padStart(6)],
      o.error ? [` ${detail}`, 'red', 'middle'] : [` ${detail}`, 'dim'],
    );
  });
  const deadLines = snapshot.deadLetters.tasks.map((d) => {
    const mark = selected?.kind === 'dead' && selected.id === d.id;
    return line(
      [mark ? '▶ ' : '  ', mark ? 'inverse' : undefined],
      [`${cell(d.id, idW)} `, 'bold'],
      [`×${d.attempts} `, 'dim'],
      [d.error || d.title, 'red', 'middle'],
    );
  });
  const learner = snapshot.learner ? [learnerLine(snapshot.learner, nameW)] : [];
  // Its own line under the header, so a narrow terminal still shows it whole.
  const database = snapshot.database ? [line([databaseText(snapshot.database), 'red'])] : [];
  const unroutable = snapshot.unroutable.length
    ? [
        line(
          ['Unroutable ', 'bold'],
          [snapshot.unroutable.map((u) => `${u.id}: ${u.reason}`).join('; '), 'yellow'],
        ),
      ]
    : [];

  // Fit sections into the rows: header, queue, footer and section titles are fixed.
  // header, queue, footer, 4 section titles, the database, learner and unroutable lines
  const fixed = 3 + 4 + database.length + learner.length + unroutable.length;
  let budget = rows - fixed;
  const take = (want: number, min: number) => {
    const n = Math.max(0, Math.min(want, Math.max(min, budget)));
    budget -= n;
    return n;
  };
  const hostN = take(Math.min(hostLines.length, 6), 0);
  const runN = take(Math.min(runningLines.length, 8), 0);
  const deadN = take(Math.min(deadLines.length, 4), 0);
  const recentN = take(recentLines.length, 0);

  const title = (text: string, shown: number, total: number): Segment[] =>
    line([text, 'bold'], [total > shown ? ` (${shown} of ${total})` : total ? ` (${total})` : '', 'dim']);
  const runningWindow = windowAround(
    runningLines,
    runN,
    selected?.kind === 'running' ? snapshot.running.findIndex((r) => r.id === selected.id) : 0,
  );
  const deadWindow = windowAround(
    deadLines,
    deadN,
    selected?.kind === 'dead' ? snapshot.deadLetters.tasks.findIndex((d) => d.id === selected.id) : 0,
  );
  const frame: Segment[][] = [
    header,
    ...database,
    title('Hosts', hostN, hostLines.length),
    ...hostLines.slice(0, hostN),
    ...learner,
    queue,
    ...unroutable,
    title('Running', runN, runningLines.length),
    ...runningWindow,
    title('Recent', recentN, Math.min(recentLines.length, snapshot.recent.length)),
    ...recentLines.slice(0, recentN),
    title('Dead letters', deadN, snapshot.deadLetters.count),
    ...deadWindow,
  ];
  while (frame.length < rows - 1) frame.push([]);
  frame.length = rows - 1;
  frame.push(footer);
  return frame.map((segments) => paint(segments, width, color));
}

const learnerWords: Record<LearnerStatus['state'], [string, Style]> = {
  idle: ['idle', 'dim'],
  'waiting-host': ['waiting: host down', 'red'],
  'waiting-batch': ['waiting for a batch', 'yellow'],
  training: ['training', 'green'],
  stopped: ['stopped', 'dim'],
};

/** ` learner surtr  training (batch of 8 at v3) · policy v3, reward 0.82`. */
function learnerLine(learner: LearnerStatus, nameW: number): Segment[] {
  const [words, style] = learnerWords[learner.state];
  const policy = learner.policy
    ? ` · policy v${learner.policy.version}, reward ${learner.policy.meanReward.toFixed(2)}`
    : '';
  return [
    [' learner ', 'bold'],
    [`${cell(learner.host, nameW)} `],
    [words, style],
    [learner.detail ? ` (${learner.detail})` : '', 'dim'],
    [policy],
  ];
}

/** The `n` lines of `all` that keep index `focus` in view. */
function windowAround<T>(all: T[], n: number, focus: number): T[] {
  if (all.length <= n) return all;
  const start = Math.max(0, Math.min(all.length - n, focus - Math.floor(n / 2)));
  return all.slice(start, start + n);
}

function paint(segments: Segment[], width: number, color: boolean): string {
  let left = width;
  let out = '';
  for (const [text, style, cut] of segments) {
    if (left <= 0 || !text) continue;
    const length = [...text].length;
    const piece = length <= left ? text : cut === 'middle' ? clipMiddle(text, left) : clip(text, left);
    left -= Math.min(length, left);
    out += color && style ? `\x1b[${sgr[style]}m${piece}\x1b[0m` : piece;
  }
  return out;
}
