/**
 * One batch of a PostgreSQL store's writes, planned against the mirror after it caught up under
 * the write lock (so it is the database's state): the same rules as the file store's commit
 * plan (a wrong-shaped line is never changed, unchanged bytes kept, bd's key order for new keys).
 */
import { randomUUID } from 'node:crypto';
import { YggError } from '../../errors.js';
import { goStringify } from '../beads-jsonl/go-json.js';
import { newHashId } from '../beads-jsonl/ids.js';
import { placeLikeBd } from '../beads-jsonl/key-order.js';
import { buildNewTask } from '../beads-jsonl/new-task.js';
import { type ParsedLine, parseLine } from '../beads-jsonl/parse-line.js';
import { spliceJson } from '../beads-jsonl/splice.js';
import type { Mutation, MutationContext, NewTask } from '../store.js';
import { statusOf, type Task } from '../task.js';
import { formatMicros } from '../timestamps.js';
import type { IssueMirror } from './mirror.js';

export type BatchOp = { kind: 'update'; id: string; mutation: Mutation } | { kind: 'add'; input: NewTask };

export interface BatchPlan {
  /** Each op's outcome in order: the task as written, undefined (declined), or an error. */
  results: Array<Task | undefined | Error>;
  /** Lines to write, by id (new ids are new rows), each as read back (for the mirror). */
  writes: Map<string, { task: Task; line: string; parsed: ParsedLine }>;
  /**
   * The plan read more than the rows its changes name (other tasks, every id for an add, the
   * largest comment id): it holds only if no row at all changed since. Otherwise it holds as long
   * as the rows it names did not (`named`).
   */
  readOthers: boolean;
  /** The ids of the rows the changes name. */
  named: Set<string>;
}

export interface BatchEnv {
  /** Planned before the store's lock, on a store that guards slots itself: see MutationContext. */
  slotsGuarded?: boolean;
  /** Strictly increasing microseconds for `created_at` of new tasks. */
  nextCreatedMicros(): number;
  /** Lease owners known to be gone (their session lock was released): see owner-locks.ts. */
  ownerGone?(owner: string): boolean;
}

export function planBatch(mirror: IssueMirror, ops: readonly BatchOp[], env: BatchEnv): BatchPlan {
  const results: BatchPlan['results'] = [];
  // `first`: the task as the row's line holds it, before the batch's first change to it.
  const working = new Map<string, { task: Task; ops: number[]; added: boolean; first?: Task }>();
  let commentId = mirror.maxIntCommentId;
  const members = new Map<string, { statuses: readonly string[]; tasks: Map<string, Task> }>();
  const tasksIn = (statuses: readonly string[]): Map<string, Task> => {
    const key = statuses.join('\u0000');
    let set = members.get(key);
    if (!set) {
      const tasks = new Map<string, Task>();
      for (const id of mirror.idsWith(statuses)) {
        if (working.has(id)) continue;
        const task = mirror.get(id);
        if (task) tasks.set(id, task);
      }
      for (const [id, { task }] of working) if (statuses.includes(statusOf(task))) tasks.set(id, task);
      set = { statuses, tasks };
      members.set(key, set);
    }
    return set.tasks;
  };
  let changes = 0;
  const applied = (task: Task) => {
    changes += 1;
    for (const { statuses, tasks } of members.values()) {
      if (statuses.includes(statusOf(task))) tasks.set(task.id, task);
      else tasks.delete(task.id);
    }
  };
  let readOthers = false;
  const named = new Set<string>();
  const context: MutationContext = {
    newCommentId: () => {
      if (!(mirror.usesIntCommentIds && !mirror.usesStringCommentIds)) return randomUUID();
      readOthers = true;
      return ++commentId;
    },
    tasks: (statuses) => {
      readOthers = true;
      return tasksIn(statuses).values();
    },
    get changes() {
      return changes;
    },
    ...(env.ownerGone ? { ownerGone: env.ownerGone } : {}),
    ...(env.slotsGuarded ? { slotsGuarded: true } : {}),
  };
  // Read once, and only by a commit that adds: it looks at every id.
  let prefix: string | undefined;
  const exists = (id: string) => mirror.has(id) || working.has(id);
  let addedCount = 0;

  ops.forEach((op, i) => {
    try {
      if (op.kind === 'add') {
        readOthers = true;
        const refused = op.input.precondition?.({
          tasks: (statuses) => [
            ...(statuses ? mirror.list(statuses) : mirror.list()).filter((t) => !working.has(t.id)),
            ...[...working.values()]
              .map((w) => w.task)
              .filter((t) => !statuses || statuses.includes(statusOf(t))),
          ],
        });
        if (refused) {
          results.push(refused);
          return;
        }
        const createdAt = formatMicros(env.nextCreatedMicros());
        const seed = `${op.input.title}\u0000${op.input.description ?? ''}\u0000${createdAt}\u0000${process.pid}`;
        prefix ??= mirror.prefix() ?? 'ygg';
        const id = newHashId(prefix, seed, exists, mirror.size + ++addedCount);
        const task = buildNewTask(id, op.input, createdAt);
        working.set(id, { task, ops: [i], added: true });
        applied(task);
        results.push(task);
        return;
      }
      named.add(op.id);
      const entry = working.get(op.id);
      const current = entry?.task ?? mirror.get(op.id);
      if (!current || mirror.badShape(op.id)) {
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
      if (entry) {
        entry.task = next;
        entry.ops.push(i);
      } else working.set(op.id, { task: next, ops: [i], added: false, first: current });
      applied(next);
      results.push(next);
    } catch (error) {
      results.push(error instanceof Error ? error : new Error(String(error)));
    }
  });

  const writes: BatchPlan['writes'] = new Map();
  for (const [id, { task, ops: opIndexes, added, first }] of working) {
    const oldText = mirror.line(id);
    let line: string;
    if (added || oldText === undefined) line = goStringify(task);
    else {
      // The mirror's object is what the line parses to, and a mutation never changes its argument
      // (see Mutation): the splice then walks only what changed. One that returned its argument
      // changed broke that rule, and the line is read again.
      const old = first === undefined || first === task ? JSON.parse(oldText) : first;
      line = spliceJson(oldText, old, task, placeLikeBd);
      if (line === oldText) continue;
    }
    // Read back as the mirror will keep it (the lifecycle's own metadata.ygg is not checked again).
    const parsed = parseLine(Buffer.from(line, 'utf8'), task);
    const record = parsed.record;
    if (record.kind !== 'issue' || record.issue?.badShape) {
      const error = new YggError(
        `a change to ${id} would write a line ygg cannot read back (${record.notes?.[0]?.message})`,
        { hint: 'Give it a non-empty title, a priority from 0 to 4, and metadata of the documented shape.' },
      );
      for (const i of opIndexes) results[i] = error;
      continue;
    }
    writes.set(id, { task, line, parsed });
  }
  return { results, writes, readOthers, named };
}
