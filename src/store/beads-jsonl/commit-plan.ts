import { randomUUID } from 'node:crypto';
import { YggError } from '../../errors.js';
import type { Mutation, MutationContext, NewTask } from '../store.js';
import { statusOf, type Task } from '../task.js';
import { formatMicros } from '../timestamps.js';
import { goStringify } from './go-json.js';
import { newHashId } from './ids.js';
import type { IssueIndex } from './issue-index.js';
import { placeLikeBd } from './key-order.js';
import type { LineRecord } from './line-record.js';
import { buildNewTask } from './new-task.js';
import { parseLine } from './parse-line.js';
import { spliceJson } from './splice.js';

export interface Settle {
  resolve(task: Task | undefined): void;
  reject(error: Error): void;
}

export type StoreOp =
  | { kind: 'update'; id: string; mutation: Mutation; settle: Settle }
  /** `handedOff`: a command's add taken by this loop; it goes to the journal (see Committer). */
  | { kind: 'add'; input: NewTask; handedOff?: boolean; settle: Settle }
  /** Puts back a line this store added that a stale writer dropped (only if the id is missing). */
  | { kind: 'restore-line'; id: string; line: Buffer; settle: Settle };

export interface LineWrite {
  id: string;
  before: Buffer | undefined;
  after: Buffer;
  task: Task;
  record: LineRecord;
}

/**
 * The file's lines after a commit, as changes to the index's lines: a copy of 100,000 line
 * records per commit was 800 KB of garbage that only a full collection frees (arrays that size
 * go straight to the large-object space), and a busy loop's memory grew with it.
 */
export interface PlannedLines {
  /** The lines before the commit (`index.records`). */
  readonly base: readonly LineRecord[];
  /** Lines replaced, by position. */
  readonly replaced: ReadonlyMap<number, LineRecord>;
  /** Lines added after the last one. */
  readonly appended: readonly LineRecord[];
  /** How many lines the file has after the commit. */
  readonly length: number;
  /** The line at position `i` after the commit. */
  at(i: number): LineRecord | undefined;
}

export interface Plan {
  records: PlannedLines;
  /** Positions of replaced and appended lines. */
  touched: number[];
  finalNewline: boolean;
  /** The outcome of each op, in order: the task as written, undefined (declined), or an error. */
  results: Array<Task | undefined | Error>;
  writes: LineWrite[];
}

export interface PlanEnv {
  now: Date;
  /** Strictly increasing microseconds for `created_at` of new tasks. */
  nextCreatedMicros(): number;
  /** Lines from other writers to append as they are (carried over from a replaced file). */
  carried?: readonly Buffer[];
  /** The task on a line, from the store's cache of lines it read or wrote (else parsed here). */
  taskOf?: (record: LineRecord) => Task;
}

const parseTask = (raw: Buffer): Task => JSON.parse(raw.toString('utf8')) as Task;

/** Applies queued ops to the freshest lines; every line not changed keeps its bytes. */
export function planCommit(index: IssueIndex, ops: readonly StoreOp[], env: PlanEnv): Plan {
  const base = index.records;
  const replaced = new Map<number, LineRecord>();
  const appended: LineRecord[] = [];
  const results: Plan['results'] = [];
  // `first`: the task as the line holds it, read before the commit's first change to it.
  const working = new Map<string, { task: Task; ops: number[]; first: Task }>();
  const added = new Map<string, { task: Task; op: number }>();
  let commentId = index.maxIntCommentId;
  let changes = 0;
  const context: MutationContext = {
    newCommentId: () => (index.usesIntCommentIds && !index.usesStringCommentIds ? ++commentId : randomUUID()),
    tasks: (statuses) => tasksInCommit(statuses),
    get changes() {
      return changes;
    },
  };
  // A claim asks for the in-progress tasks once per task of a commit that may hold hundreds: the
  // tasks of each asked-for set of statuses are found once per commit, then kept up to date as
  // each change of the commit applies.
  const members = new Map<string, { statuses: readonly string[]; tasks: Map<string, Task> }>();
  const tasksInCommit = (statuses: readonly string[]): Iterable<Task> => {
    const key = statuses.join('\u0000');
    let set = members.get(key);
    if (!set) {
      const tasks = new Map<string, Task>();
      for (const status of new Set(statuses))
        for (const id of index.byStatus.get(status) ?? []) {
          if (working.has(id)) continue;
          const task = issueTask(index, id, env.taskOf);
          if (task) tasks.set(id, task);
        }
      for (const [id, { task }] of working) if (statuses.includes(statusOf(task))) tasks.set(id, task);
      for (const [id, { task }] of added) if (statuses.includes(statusOf(task))) tasks.set(id, task);
      set = { statuses, tasks };
      members.set(key, set);
    }
    return set.tasks.values();
  };
  /** A change of the commit applied: the sets asked for so far follow it. */
  const applied = (task: Task) => {
    changes += 1;
    for (const { statuses, tasks } of members.values()) {
      if (statuses.includes(statusOf(task))) tasks.set(task.id, task);
      else tasks.delete(task.id);
    }
  };
  // Only a new task needs the id prefix: working it out reads every id (100,000 on a large
  // store), which every claim and outcome paid before.
  let prefix: string | undefined;
  const restored = new Map<string, { line: Buffer; op: number }>();
  const exists = (id: string) => index.positions.has(id) || added.has(id) || restored.has(id);

  ops.forEach((op, i) => {
    try {
      if (op.kind === 'restore-line') {
        if (exists(op.id)) results.push(undefined);
        else {
          restored.set(op.id, { line: op.line, op: i });
          results.push(parseTask(op.line));
        }
        return;
      }
      if (op.kind === 'add') {
        const refused = op.input.precondition?.({
          tasks: (statuses) => currentTasks(index, added, statuses),
        });
        if (refused) {
          results.push(refused);
          return;
        }
        const createdAt = formatMicros(env.nextCreatedMicros());
        const seed = `${op.input.title}\u0000${op.input.description ?? ''}\u0000${createdAt}\u0000${process.pid}`;
        prefix ??= index.prefix() ?? 'ygg';
        const id = newHashId(prefix, seed, exists, index.positions.size + added.size);
        const task = buildNewTask(id, op.input, createdAt);
        added.set(id, { task, op: i });
        applied(task);
        results.push(task);
        return;
      }
      const addedTask = added.get(op.id);
      const current = working.get(op.id)?.task ?? addedTask?.task ?? issueTask(index, op.id, env.taskOf);
      // A line with a wrong-shaped key is left as it is, byte for byte, until fixed by hand.
      if (!current || index.record(op.id)?.issue?.badShape) {
        results.push(undefined);
        return;
      }
      const next = op.mutation(current, context);
      if (!next) {
        results.push(undefined);
        return;
      }
      if (next.id !== op.id)
        throw new YggError(`a mutation of ${op.id} changed its id to ${String(next.id)}`);
      if (addedTask) addedTask.task = next;
      else {
        const entry = working.get(op.id);
        if (entry) {
          entry.task = next;
          entry.ops.push(i);
        } else working.set(op.id, { task: next, ops: [i], first: current });
      }
      applied(next);
      results.push(next);
    } catch (error) {
      results.push(error instanceof Error ? error : new Error(String(error)));
    }
  });

  const writes: LineWrite[] = [];
  const touched: number[] = [];
  for (const [id, { task, ops: opIndexes, first }] of working) {
    const at = index.positions.get(id) as number;
    const before = (base[at] as LineRecord).raw;
    const oldText = before.toString('utf8');
    // A mutation never changes its argument (see Mutation), so `first` still is the line's
    // object, unless one broke that rule by returning it changed: then the line is read again.
    const old = first === task ? JSON.parse(oldText) : first;
    const text = spliceJson(oldText, old, task, placeLikeBd);
    if (text === oldText) continue;
    const after = Buffer.from(text, 'utf8');
    const record = parseLine(after, task).record;
    if (record.kind !== 'issue' || record.issue?.badShape) {
      const error = new YggError(
        `a change to ${id} would write a line ${record.kind !== 'issue' ? 'bd rejects' : 'ygg cannot read back'} (${record.notes?.[0]?.message})`,
      );
      for (const i of opIndexes) results[i] = error;
      continue;
    }
    replaced.set(at, record);
    touched.push(at);
    writes.push({ id, before, after, task, record });
  }
  for (const line of env.carried ?? []) appended.push(parseLine(line).record);
  for (const [id, { line, op }] of restored) {
    const record = parseLine(line).record;
    appended.push(record);
    writes.push({ id, before: undefined, after: line, task: results[op] as Task, record });
  }
  for (const [id, { task, op }] of added) {
    const after = Buffer.from(goStringify(task), 'utf8');
    const record = parseLine(after).record;
    if (record.kind !== 'issue' || record.issue?.badShape) {
      results[op] = new YggError(`the new task would be a line ygg rejects (${record.notes?.[0]?.message})`, {
        hint: 'Give it a non-empty title, a priority from 0 to 4, and metadata of the documented shape.',
      });
      continue;
    }
    appended.push(record);
    writes.push({ id, before: undefined, after, task, record });
  }
  for (let k = 0; k < appended.length; k++) touched.push(base.length + k);
  const records: PlannedLines = {
    base,
    replaced,
    appended,
    length: base.length + appended.length,
    at: (i) => (i < base.length ? (replaced.get(i) ?? base[i]) : appended[i - base.length]),
  };
  return { records, touched, finalNewline: index.finalNewline || appended.length > 0, results, writes };
}

/** The file's issues, then tasks added earlier in the commit (for an add's precondition). */
function currentTasks(
  index: IssueIndex,
  added: ReadonlyMap<string, { task: Task }>,
  statuses: readonly string[] | undefined,
): Task[] {
  const wanted = (status: string | undefined) => !statuses || statuses.includes(status as string);
  const tasks: Task[] = [];
  for (const record of index.records)
    if (record.kind === 'issue' && wanted(record.issue?.status)) tasks.push(parseTask(record.raw));
  for (const { task } of added.values()) if (wanted(statusOf(task))) tasks.push(task);
  return tasks;
}

function issueTask(index: IssueIndex, id: string, taskOf?: (record: LineRecord) => Task): Task | undefined {
  const record = index.record(id);
  if (record?.kind !== 'issue') return undefined;
  return taskOf ? taskOf(record) : parseTask(record.raw);
}
