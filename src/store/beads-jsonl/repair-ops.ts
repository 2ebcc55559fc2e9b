import type { Task } from '../task.js';
import type { Settle, StoreOp } from './commit-plan.js';
import type { IssueIndex } from './issue-index.js';
import type { WriteJournal } from './journal.js';
import type { LineRecord } from './line-record.js';

const noop: Settle = { resolve: () => undefined, reject: () => undefined };

/**
 * The commits that put back this store's recent writes a writer without the lock undid (see
 * `WriteJournal.repairs`): a dropped add is appended again, a reverted line restored or merged.
 */
export function repairOps(
  journal: WriteJournal,
  index: IssueIndex,
  taskOf: (record: LineRecord) => Task,
  now: Date,
): StoreOp[] {
  journal.expire(Date.now());
  if (journal.size === 0) return [];
  const repairs = journal.repairs((id) => {
    const record = index.record(id);
    return record ? { raw: record.raw, task: () => taskOf(record) } : undefined;
  }, now);
  const ops: StoreOp[] = [];
  for (const [id, repair] of repairs) {
    if (repair.kind === 'append') ops.push({ kind: 'restore-line', id, line: repair.line, settle: noop });
    else {
      const target =
        repair.kind === 'merge' ? repair.task : (JSON.parse(repair.line.toString('utf8')) as Task);
      ops.push({ kind: 'update', id, mutation: () => target, settle: noop });
    }
  }
  return ops;
}
