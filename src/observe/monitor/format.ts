/** Small text formatters shared by the terminal views (monitor, progress bar). */

/** `850ms`, `4.2s`, `12s`, `3m05s`, `2h07m`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A bar of `width` cells: filled for used/total. */
export function bar(used: number, total: number, width: number): string {
  const filled = total > 0 ? Math.min(width, Math.round((used / total) * width)) : 0;
  return `${'█'.repeat(filled)}${'░'.repeat(Math.max(0, width - filled))}`;
}

export function gib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : (bytes / 2 ** 30).toFixed(1);
}

/** Cut to `width` characters, marking the cut with `…`. */
export function clip(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

/** Cut or pad to exactly `width` characters. */
export function cell(text: string, width: number): string {
  const cut = clip(text, width);
  return cut + ' '.repeat(Math.max(0, width - [...cut].length));
}
