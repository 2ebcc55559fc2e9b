/**
 * The input of `ygg add --from`: JSON Lines of tasks, or one title per line. Which one is decided
 * by the first non-blank line (`{` starts JSON Lines), so a title file whose tenth title happens to
 * begin with `{` is still read as titles. Blank lines are skipped; line numbers count every line.
 */
import type { JsonLineSchema } from './add-line-schema.js';

/** What one line may set: the keys are `ygg add`'s options (`--hard-timeout` is `hard_timeout`). */
export interface LineFields {
  title: string;
  type?: string | undefined;
  priority?: number | undefined;
  labels?: string[] | undefined;
  description?: string | undefined;
  blocked_by?: string[] | undefined;
  handler?: string | undefined;
  argv?: string[] | undefined;
  simulate_ms?: number | undefined;
  timeout?: number | undefined;
  hard_timeout?: number | undefined;
  attempts?: number | undefined;
  as?: string | undefined;
}

export interface TaskLine {
  /** 1-based line number in the input. */
  line: number;
  fields: LineFields;
}

/** A line that cannot become a task, and why. */
export interface LineProblem {
  line: number;
  message: string;
}

export interface ParsedLines {
  format: 'jsonl' | 'titles';
  tasks: TaskLine[];
  problems: LineProblem[];
}

/**
 * Reads the input's bytes: UTF-8 (a leading BOM is dropped), lines ending in `\n` or `\r\n`. The
 * schema for JSON lines (and zod with it) is imported only for JSON Lines.
 */
export async function parseTaskLines(bytes: Uint8Array): Promise<ParsedLines> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { format: 'titles', tasks: [], problems: [{ line: 0, message: 'the input is not UTF-8 text' }] };
  }
  const lines = text.split('\n');
  const first = lines.find((line) => line.trim() !== '');
  const format = first?.trimStart().startsWith('{') ? 'jsonl' : 'titles';
  const schema = format === 'jsonl' ? (await import('./add-line-schema.js')).jsonLineSchema : undefined;
  const tasks: TaskLine[] = [];
  const problems: LineProblem[] = [];
  lines.forEach((raw, i) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    const line = i + 1;
    const fields = schema ? jsonFields(schema, text, line, problems) : { title: text };
    if (!fields) return;
    const titleProblem = titleProblemOf(fields.title);
    if (titleProblem) problems.push({ line, message: titleProblem });
    else tasks.push({ line, fields });
  });
  return { format, tasks, problems };
}

function jsonFields(
  schema: JsonLineSchema,
  text: string,
  line: number,
  problems: LineProblem[],
): LineFields | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    problems.push({ line, message: `not valid JSON (${(error as Error).message})` });
    return undefined;
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues)
    problems.push({ line, message: describeIssue(issue, Object.keys(schema.shape)) });
  return undefined;
}

/** A schema issue in words, with the key it is about. */
function describeIssue(
  issue: { code: string; path: PropertyKey[]; message: string; keys?: string[] },
  known: readonly string[],
): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key ${(issue.keys ?? []).join(', ')} (known: ${known.join(', ')})`;
  if (issue.path.length === 0) return 'a line must be a JSON object such as {"title": "..."}';
  const key = issue.path.map(String).join('.');
  if (key === 'title' && issue.code === 'invalid_type') return 'title: a task needs a title (a string)';
  return `${key}: ${issue.message}`;
}

/** The store's own rules for a title, checked before anything is written. */
function titleProblemOf(title: string): string | undefined {
  if (title.trim() === '') return 'title: a task needs a non-empty title';
  if (Buffer.byteLength(title) > 500) return 'title: longer than 500 bytes (put the detail in a description)';
  return undefined;
}
