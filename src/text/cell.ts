/**
 * Free text (a title, a submitter, an error) as one cell of a table: on one line, and cut with
 * `…` past `width` characters, so one long field cannot push the rest of the table out of
 * sight. `show` and `--json` keep the whole text.
 */

/** How wide a title may be in a table (`list`, `dlq`, the tasks `loop --until-idle` leaves). */
export const titleWidth = 60;

/** How wide other free text may be in a table (why a task waits, an error's first line). */
export const noteWidth = 100;

/** Only the start of a huge field is looked at: cutting a 5 MB title costs no more than a short one. */
const lookedAt = 4096;

export function cell(text: string, width: number): string {
  const start = text.length > lookedAt ? text.slice(0, lookedAt) : text;
  // Line breaks, tabs and other control characters would break the row (or the terminal).
  const line = start.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
  const chars = [...line];
  if (chars.length <= width && start.length === text.length) return line;
  return `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}

/**
 * One line cut to `width` characters in the middle, keeping its start and its end: an error's
 * start says what failed and its end says why (`sh exited with code 1: … error: no such file`).
 */
export function clipMiddle(line: string, width: number): string {
  const chars = [...line];
  if (chars.length <= width) return line;
  if (width <= 1) return width === 1 ? '…' : '';
  const start = Math.floor((width - 1) * 0.4);
  const end = width - 1 - start;
  return `${chars.slice(0, start).join('')}…${chars.slice(chars.length - end).join('')}`;
}

/** Colour and cursor escapes (CSI, OSC) a program writes to a terminal. */
const terminalEscapes = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g;

/**
 * Program output as one plain line: its terminal escapes dropped (a test runner's colours), what
 * a carriage return overwrote dropped (a progress bar), other control characters made spaces.
 */
export function plainLine(text: string): string {
  const shown = text.replace(terminalEscapes, '');
  const afterReturn = shown.slice(shown.lastIndexOf('\r', shown.length - 2) + 1);
  return afterReturn.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}
