import type { StoreProblem } from '../store.js';
import type { LineNote, LineRecord, SlimIssue } from './line-record.js';

/**
 * The file's lines (exact bytes) and what is derived from them without parsing again: ids to
 * positions, problems with line numbers, duplicate ids, comment-id style, the id prefix.
 */
export class IssueIndex {
  readonly positions = new Map<string, number>();
  readonly slims = new Map<string, SlimIssue>();
  /** Ids by status (a claim counts the running tasks; readiness starts from the open ones). */
  readonly byStatus = new Map<string, Set<string>>();
  readonly problems: StoreProblem[] = [];
  maxIntCommentId = 0;
  usesIntCommentIds = false;
  usesStringCommentIds = false;

  constructor(
    readonly file: string,
    readonly records: readonly LineRecord[],
    /** Whether the file ended with `\n` (true for an empty file). */
    readonly finalNewline: boolean,
  ) {
    records.forEach((record, i) => {
      this.#take(i, record);
    });
  }

  /**
   * The index after this store's own commit, reusing `previous`'s lines and maps, changed in
   * place (it must not be used again): only the `touched` positions (lines replaced with the
   * same id, or appended) are read.
   */
  static afterCommit(
    previous: IssueIndex,
    lines: {
      readonly replaced: ReadonlyMap<number, LineRecord>;
      readonly appended: readonly LineRecord[];
    },
    finalNewline: boolean,
    touched: Iterable<number>,
  ): IssueIndex {
    const records = previous.records as LineRecord[];
    for (const [at, record] of lines.replaced) records[at] = record;
    for (const record of lines.appended) records.push(record);
    const next = new IssueIndex(previous.file, [], finalNewline);
    // Take over the lines and maps instead of copying them: at 100,000 issues a copy per commit
    // is megabytes of garbage that the heap keeps around for a while.
    const owned = next as unknown as {
      records: readonly LineRecord[];
      positions: Map<string, number>;
      slims: Map<string, SlimIssue>;
      byStatus: Map<string, Set<string>>;
      problems: StoreProblem[];
    };
    owned.records = records;
    owned.positions = previous.positions;
    owned.slims = previous.slims;
    owned.byStatus = previous.byStatus;
    owned.problems = [...previous.problems];
    next.maxIntCommentId = previous.maxIntCommentId;
    next.usesIntCommentIds = previous.usesIntCommentIds;
    next.usesStringCommentIds = previous.usesStringCommentIds;
    for (const i of touched) next.#take(i, records[i] as LineRecord);
    return next;
  }

  #take(i: number, record: LineRecord): void {
    for (const note of record.notes ?? []) this.#report(i + 1, note);
    if (record.kind !== 'issue' || !record.issue) return;
    const id = record.issue.id;
    const first = this.positions.get(id);
    if (first !== undefined && first !== i) {
      this.#report(i + 1, {
        kind: 'duplicate-id',
        message: `issue ${id} appears again (first on line ${first + 1})`,
        hint: 'ygg uses the first line and keeps this one untouched; merge or remove the duplicate.',
      });
      return;
    }
    this.positions.set(id, i);
    const old = this.slims.get(id);
    if (old) this.byStatus.get(old.status)?.delete(id);
    this.slims.set(id, record.issue);
    const same = this.byStatus.get(record.issue.status);
    if (same) same.add(id);
    else this.byStatus.set(record.issue.status, new Set([id]));
    if (record.maxIntCommentId !== undefined) {
      this.usesIntCommentIds = true;
      this.maxIntCommentId = Math.max(this.maxIntCommentId, record.maxIntCommentId);
    }
    if (record.stringCommentIds) this.usesStringCommentIds = true;
  }

  #report(line: number, note: LineNote): void {
    this.problems.push({ ...note, file: this.file, line, message: `${this.file}:${line}: ${note.message}` });
  }

  /** The slim issues with `status`. */
  *withStatus(status: string): Iterable<SlimIssue> {
    for (const id of this.byStatus.get(status) ?? []) yield this.slims.get(id) as SlimIssue;
  }

  record(id: string): LineRecord | undefined {
    const at = this.positions.get(id);
    return at === undefined ? undefined : this.records[at];
  }

  /** The prefix most ids use (`bd` for `bd-a1b2`), or undefined for a file without issues. */
  prefix(): string | undefined {
    const counts = new Map<string, number>();
    for (const id of this.positions.keys()) {
      const base = id.split('.')[0] ?? id;
      const dash = base.lastIndexOf('-');
      if (dash <= 0) continue;
      const prefix = base.slice(0, dash);
      counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [prefix, count] of counts) {
      if (count > bestCount) [best, bestCount] = [prefix, count];
    }
    return best;
  }
}
