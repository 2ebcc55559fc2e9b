import type { StoreChange } from '../store.js';
import type { IssueIndex } from './issue-index.js';

/** Which tasks differ between two versions of the file, by id (bytes compared, nothing parsed). */
export function diffIndexes(before: IssueIndex, after: IssueIndex, external: boolean): StoreChange {
  const change: StoreChange = { added: [], changed: [], removed: [], external };
  for (const [id, at] of after.positions) {
    const old = before.record(id);
    if (!old) change.added.push(id);
    else if (!old.raw.equals(after.records[at]?.raw ?? Buffer.alloc(0))) change.changed.push(id);
  }
  for (const id of before.positions.keys()) if (!after.positions.has(id)) change.removed.push(id);
  return change;
}

export const isEmptyChange = (c: StoreChange) => c.added.length + c.changed.length + c.removed.length === 0;
