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
