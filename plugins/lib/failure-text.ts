/**
 * A command's failure in words, cause first: one-line views (the monitor, the web view, `dlq`,
 * `list`) show only the first line, so it carries the exit and the last lines the command wrote
 * to stderr; the protections in force follow on a line of their own, then the output.
 */
import { plainLine } from '../../src/text/cell.js';

/** How many of stderr's last non-empty lines the first line quotes. */
const causeLines = 3;
/**
 * How long the first line may get, head and cause together: the one-line views keep 200
 * characters, so a longer line would lose the end of the cause, the part that says why.
 */
const firstLineChars = 200;
/** The cause keeps at least this much however long the head is. */
const minCauseChars = 80;

/** The last non-empty lines of a command's output, joined on one line and bounded from the front. */
export function outputTail(text: string, lines = causeLines, max = firstLineChars): string {
  const tail = text
    .split('\n')
    .map(plainLine)
    .filter((line) => line.length > 0)
    .slice(-lines)
    .join(' / ');
  return tail.length > max ? `…${tail.slice(tail.length - max + 1)}` : tail;
}

export interface FailureText {
  /** What happened, e.g. `sh exited with code 1`. */
  head: string;
  stderr: string;
  stdout: string;
  protections?: readonly string[];
  /** The whole output, kept below for `show` and `logs`. */
  output: string;
}

export function failureText({ head, stderr, stdout, protections, output }: FailureText): string {
  const budget = Math.max(minCauseChars, firstLineChars - head.length - 2);
  // A command that says nothing on stderr often says why on stdout (a test runner's summary).
  const cause = outputTail(stderr, causeLines, budget) || outputTail(stdout, causeLines, budget);
  return [cause ? `${head}: ${cause}` : head, protectionsLine(protections), output]
    .filter(Boolean)
    .join('\n');
}

/** The protections in force, as their own line (empty when none were reported). */
export function protectionsLine(protections: readonly string[] | undefined): string {
  return protections?.length ? `protections: ${protections.join(', ')}` : '';
}
