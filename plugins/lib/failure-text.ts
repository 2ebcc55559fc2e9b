/**
 * A command's failure in words, cause first: one-line views (the monitor, the web view, `dlq`,
 * `list`) show only the first line, so it carries the exit and the last lines the command wrote
 * to stderr; the protections in force follow on a line of their own, then the output.
 */

/** How many of stderr's last non-empty lines the first line quotes, and how long it may get. */
const causeLines = 3;
const causeChars = 240;

/** The last non-empty lines of a command's output, joined on one line and bounded. */
export function outputTail(text: string, lines = causeLines, max = causeChars): string {
  const tail = text
    .split('\n')
    .map((line) => line.trim())
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
  // A command that says nothing on stderr often says why on stdout (a test runner's summary).
  const cause = outputTail(stderr) || outputTail(stdout);
  return [cause ? `${head}: ${cause}` : head, protectionsLine(protections), output]
    .filter(Boolean)
    .join('\n');
}

/** The protections in force, as their own line (empty when none were reported). */
export function protectionsLine(protections: readonly string[] | undefined): string {
  return protections?.length ? `protections: ${protections.join(', ')}` : '';
}
