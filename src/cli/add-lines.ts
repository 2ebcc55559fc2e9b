/**
 * The input of `ygg add --from`: JSON Lines of tasks, or one title per line. Which one is decided
 * by the first non-blank line (`{` starts JSON Lines), so a title file whose tenth title happens to
 * begin with `{` is still read as titles. Blank lines are skipped; line numbers count every line.
 */
import { z } from 'zod';
import { parseDuration } from './add.js';

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

/** A duration as `ygg add` takes it: milliseconds, or a string with a unit (`250ms`, `30s`, `5m`). */
const duration = z.union([
  z.number().int().nonnegative(),
  z.string().transform((text, ctx) => {
    try {
      return parseDuration(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'use milliseconds or a unit: 250ms, 30s, 5m, 1h' });
      return z.NEVER;
    }
  }),
]);
const name = z.string().trim().min(1, 'must not be empty');

const lineSchema = z.strictObject({
  title: z.string(),
  type: name.optional(),
  priority: z.number().int().min(0).max(4).optional(),
  labels: z.array(name).optional(),
  description: z.string().optional(),
  blocked_by: z.array(name).optional(),
  handler: name.optional(),
  argv: z.array(z.string()).min(1, 'give the command as a non-empty array of words').optional(),
  simulate_ms: duration.optional(),
  timeout: duration.optional(),
  hard_timeout: duration.optional(),
  attempts: z.number().int().min(1).optional(),
  as: name.optional(),
});

/** Reads the input's bytes: UTF-8 (a leading BOM is dropped), lines ending in `\n` or `\r\n`. */
export function parseTaskLines(bytes: Uint8Array): ParsedLines {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { format: 'titles', tasks: [], problems: [{ line: 0, message: 'the input is not UTF-8 text' }] };
  }
  const lines = text.split('\n');
  const first = lines.find((line) => line.trim() !== '');
  const format = first?.trimStart().startsWith('{') ? 'jsonl' : 'titles';
  const tasks: TaskLine[] = [];
  const problems: LineProblem[] = [];
  lines.forEach((raw, i) => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    const line = i + 1;
    const fields = format === 'jsonl' ? jsonFields(text, line, problems) : { title: text };
    if (!fields) return;
    const titleProblem = titleProblemOf(fields.title);
    if (titleProblem) problems.push({ line, message: titleProblem });
    else tasks.push({ line, fields });
  });
  return { format, tasks, problems };
}

function jsonFields(text: string, line: number, problems: LineProblem[]): LineFields | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    problems.push({ line, message: `not valid JSON (${(error as Error).message})` });
    return undefined;
  }
  const parsed = lineSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) problems.push({ line, message: describeIssue(issue) });
  return undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key ${issue.keys.join(', ')} (known: ${Object.keys(lineSchema.shape).join(', ')})`;
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
