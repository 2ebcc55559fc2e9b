import { isUtf8 } from 'node:buffer';
import type { StoreProblem } from '../store.js';
import { hasTrustedYgg, statusOf, type Task } from '../task.js';
import { isPlainObject, taskShapeProblem } from '../task-shape.js';
import { parseMicros } from '../timestamps.js';
import { nestsDeeperThan } from './json-scan.js';
import type { LineRecord, Link, LinkType, SlimIssue } from './line-record.js';

/** Lines longer than this are read but reported: bd and editors struggle with them. */
export const largeLineBytes = 1024 * 1024;
/** Lines longer than this are reported and not read at all (kept byte for byte). */
export const maxLineBytes = 16 * 1024 * 1024;
/** Lines nested deeper than this are reported and not read at all (kept byte for byte). */
export const maxDepth = 512;

const keepHint = 'ygg keeps this line as it is and ignores it; fix or remove it by hand.';

export interface ParsedLine {
  record: LineRecord;
  /** The whole object, when the line is an issue (callers may drop it to save memory). */
  task: Task | undefined;
}

const linkTypes = new Set<string>(['blocks', 'conditional-blocks', 'parent-child', 'waits-for']);

/**
 * Reads one line; never throws. Problems go on the record, without file and line number.
 * `written`: the task this line was just serialised from; when its `metadata.ygg` was built by
 * the lifecycle from checked values, that part is not checked again (every claim and outcome).
 */
export function parseLine(raw: Buffer, written?: Task): ParsedLine {
  const bad = (kind: StoreProblem['kind'], message: string, hint = keepHint): ParsedLine => ({
    record: { raw, kind: 'bad', notes: [{ kind, message, hint }] },
    task: undefined,
  });
  if (raw.every((b) => b === 0x20 || b === 0x09 || b === 0x0d)) {
    return { record: { raw, kind: 'blank' }, task: undefined };
  }
  // Limits first, in time linear in the line: nothing below may then take long or recurse deep.
  if (raw.length > maxLineBytes) {
    return bad(
      'over-size-limit',
      `the line is ${mib(raw.length)} MB, over the ${mib(maxLineBytes)} MB limit; ygg does not read it`,
    );
  }
  if (!isUtf8(raw))
    return bad('invalid-utf8', 'the line is not valid UTF-8', `Re-save the file as UTF-8. ${keepHint}`);
  // Nesting deeper than `maxDepth` needs at least two bytes per level.
  if (raw.length > 2 * maxDepth && nestsDeeperThan(raw, maxDepth)) {
    return bad('too-deep', `the line nests deeper than ${maxDepth} levels; ygg does not read it`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return bad('malformed-json', `the line is not valid JSON (${why})`);
  }
  if (!isPlainObject(value)) return bad('not-an-object', 'the line is JSON but not an object');
  if (value._type !== undefined && value._type !== 'issue') {
    return { record: { raw, kind: 'other' }, task: undefined };
  }
  if (typeof value.id !== 'string' || value.id === '') return bad('missing-id', 'the issue has no "id"');
  if (typeof value.title !== 'string' || value.title === '') {
    // A title of another kind is named as it is: "has no title" sent people looking for a missing key.
    const what =
      value.title === undefined || value.title === ''
        ? 'has no "title"'
        : `has a "title" that is not text (${JSON.stringify(value.title).slice(0, 40)})`;
    return bad('missing-title', `issue ${value.id} ${what}`, `Give ${value.id} a title. ${keepHint}`);
  }
  const priority = value.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > 4) {
    return bad(
      'bad-priority',
      `issue ${value.id} has priority ${JSON.stringify(priority)}, outside 0..4`,
      `Set its priority to 0 (critical) .. 4 (backlog). ${keepHint}`,
    );
  }
  const task = value as Task;
  const record: LineRecord = { raw, kind: 'issue', issue: slimOf(task, priority) };
  const shape = taskShapeProblem(task, written !== undefined && hasTrustedYgg(written));
  if (shape && record.issue) {
    record.issue.badShape = true;
    record.notes = [
      {
        kind: 'bad-shape',
        key: shape.key,
        message: `issue ${task.id}: ${shape.message}`,
        hint: `ygg keeps the task but does not run or change it until "${shape.key}" is fixed by hand.`,
      },
    ];
  }
  if (raw.length > largeLineBytes) {
    record.notes = [
      ...(record.notes ?? []),
      {
        kind: 'too-large',
        message: `issue ${task.id} is ${mib(raw.length)} MB on one line`,
        hint: 'ygg reads it, but consider moving the long text into a file and linking it.',
      },
    ];
  }
  if (Array.isArray(task.comments)) {
    for (const c of task.comments) {
      const id: unknown = isPlainObject(c) ? c.id : undefined;
      if (typeof id === 'number') record.maxIntCommentId = Math.max(record.maxIntCommentId ?? 0, id);
      else if (typeof id === 'string') record.stringCommentIds = true;
    }
  }
  return { record, task };
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(1);

function slimOf(task: Task, priority: number): SlimIssue {
  const defer = parseMicros(task.defer_until);
  return {
    id: task.id,
    status: statusOf(task),
    priority,
    issueType: typeof task.issue_type === 'string' && task.issue_type !== '' ? task.issue_type : 'task',
    createdKey: parseMicros(task.created_at) ?? Number.POSITIVE_INFINITY,
    pinned: task.pinned === true,
    ephemeral: task.ephemeral === true,
    deferUntil: defer === undefined ? undefined : defer / 1000,
    links: linksOf(task),
  };
}

function linksOf(task: Task): Link[] | undefined {
  if (!Array.isArray(task.dependencies)) return undefined;
  let links: Link[] | undefined;
  for (const dep of task.dependencies as unknown[]) {
    if (!isPlainObject(dep) || typeof dep.depends_on_id !== 'string') continue;
    const type = typeof dep.type === 'string' ? dep.type : '';
    if (!linkTypes.has(type)) continue;
    const link: Link = { type: type as LinkType, target: dep.depends_on_id };
    if (type === 'waits-for') Object.assign(link, waitsForMeta(dep.metadata));
    links ??= [];
    links.push(link);
  }
  return links;
}

function waitsForMeta(metadata: unknown): Pick<Link, 'gate' | 'spawner'> {
  let meta: unknown = metadata;
  if (typeof metadata === 'string') {
    try {
      meta = JSON.parse(metadata);
    } catch {
      meta = undefined;
    }
  }
  if (!isPlainObject(meta)) return {};
  const out: Pick<Link, 'gate' | 'spawner'> = {};
  if (meta.gate === 'any-children') out.gate = 'any-children';
  if (typeof meta.spawner_id === 'string' && meta.spawner_id !== '') out.spawner = meta.spawner_id;
  return out;
}
