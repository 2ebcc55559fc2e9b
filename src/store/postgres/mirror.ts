/**
 * The in-memory view of the issues table that a PostgreSQL store reads from synchronously: each
 * row's line, parsed once, with the slim index bd's ready rules run on. It is caught up from the
 * rows whose revision is newer than the last one it took.
 */

import type { SlimIssue } from '../beads-jsonl/line-record.js';
import { type ParsedLine, parseLine } from '../beads-jsonl/parse-line.js';
import { ReadyIndex } from '../beads-jsonl/ready-index.js';
import type { StoreProblem } from '../store.js';
import type { Task } from '../task.js';

interface Entry {
  seq: number;
  /** The revision the row was written with (0: not known). */
  revision: number;
  line: string;
  task: Task | undefined;
  status: string;
  problems: StoreProblem[];
  badShape: boolean;
  slim: SlimIssue | undefined;
}

/** The statuses of the tasks a pass may take: ready ones, and lapsed leases' to take back. */
const takeable = new Set(['open', 'in_progress']);

export interface MirrorRow {
  seq: string | number;
  id: string;
  line: string;
  revision: string | number;
}

export class IssueMirror {
  /** The newest revision taken in. */
  revision = 0;
  /** Comment ids seen: integers (and the largest), strings. */
  maxIntCommentId = 0;
  usesIntCommentIds = false;
  usesStringCommentIds = false;
  readonly #entries = new Map<string, Entry>();
  readonly #byStatus = new Map<string, Set<string>>();
  /** How many open or in-progress tasks carry each label. */
  readonly #takeableLabels = new Map<string, number>();
  /** bd's ready rules run on these (kept as rows come in, not rebuilt per look). */
  readonly #slims = new Map<string, SlimIssue>();
  #sorted: string[] | undefined;
  readonly #readyIndex = new ReadyIndex(
    this.#slims,
    () => this.#byStatus.get('open') ?? [],
    (slim) => this.get(slim.id),
  );
  /** The last ready answer, for as long as the ready list is the same and no defer time passed. */
  #readyAt: { generation: number; from: number; until: number; tasks: Task[] } | undefined;

  constructor(readonly where: string) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Takes rows in; returns which ids were added and which changed. */
  apply(rows: readonly MirrorRow[]): { added: string[]; changed: string[] } {
    const added: string[] = [];
    const changed: string[] = [];
    for (const row of rows) {
      const revision = Number(row.revision);
      if (revision > this.revision) this.revision = revision;
      const before = this.#entries.get(row.id);
      if (before && before.line === row.line) {
        before.revision = revision;
        continue;
      }
      this.set(row.id, row.line, Number(row.seq), undefined, revision);
      (before ? changed : added).push(row.id);
    }
    return { added, changed };
  }

  /** Sets one issue's line (after our own commit, with the line as read back, or from a row). */
  set(id: string, line: string, seq?: number, parsed?: ParsedLine, revision = 0): void {
    const before = this.#entries.get(id);
    const { record, task } = parsed ?? parseLine(Buffer.from(line, 'utf8'));
    const status = record.issue?.status ?? '(unreadable)';
    const problems = (record.notes ?? []).map((note) => ({
      ...note,
      file: this.where,
      line: 0,
      message: `${this.where}: ${note.message}`,
    }));
    if (record.maxIntCommentId !== undefined) {
      this.usesIntCommentIds = true;
      this.maxIntCommentId = Math.max(this.maxIntCommentId, record.maxIntCommentId);
    }
    if (record.stringCommentIds) this.usesStringCommentIds = true;
    if (before && takeable.has(before.status)) this.#countLabels(before.task, -1);
    if (takeable.has(status)) this.#countLabels(task, 1);
    if (before) this.#byStatus.get(before.status)?.delete(id);
    else this.#sorted = undefined;
    const ids = this.#byStatus.get(status) ?? new Set<string>();
    this.#byStatus.set(status, ids);
    ids.add(id);
    if (record.issue) this.#slims.set(id, record.issue);
    else this.#slims.delete(id);
    this.#readyIndex.changed(id, before?.slim, record.issue);
    this.#entries.set(id, {
      seq: seq ?? before?.seq ?? Number.MAX_SAFE_INTEGER,
      revision,
      line,
      task,
      status,
      problems,
      badShape: record.issue?.badShape === true,
      slim: record.issue,
    });
  }

  takeableWithLabel(label: string): number {
    return this.#takeableLabels.get(label) ?? 0;
  }

  #countLabels(task: Task | undefined, by: 1 | -1): void {
    const labels: unknown = task?.labels;
    if (!Array.isArray(labels)) return;
    for (const label of new Set(labels)) {
      if (typeof label !== 'string') continue;
      const count = (this.#takeableLabels.get(label) ?? 0) + by;
      if (count > 0) this.#takeableLabels.set(label, count);
      else this.#takeableLabels.delete(label);
    }
  }

  /** The revision of the row as the mirror has it (undefined: no such row). */
  revisionOf(id: string): number | undefined {
    return this.#entries.get(id)?.revision;
  }

  line(id: string): string | undefined {
    return this.#entries.get(id)?.line;
  }

  get(id: string): Task | undefined {
    return this.#entries.get(id)?.task;
  }

  /** The owner of a task's lease, when it has one. */
  leaseOwner(id: string): string | undefined {
    const meta = this.#entries.get(id)?.task?.metadata as
      | { ygg?: { lease?: { owner?: unknown } } }
      | undefined;
    const owner = meta && typeof meta === 'object' ? meta.ygg?.lease?.owner : undefined;
    return typeof owner === 'string' ? owner : undefined;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** True when the line has a key of the wrong shape: ygg never changes such a task. */
  badShape(id: string): boolean {
    return this.#entries.get(id)?.badShape === true;
  }

  statusOf(id: string): string | undefined {
    return this.#entries.get(id)?.status;
  }

  /** Ids in arrival order. */
  ids(): readonly string[] {
    if (!this.#sorted) {
      this.#sorted = [...this.#entries.entries()].sort((a, b) => a[1].seq - b[1].seq).map(([id]) => id);
    }
    return this.#sorted;
  }

  list(statuses?: readonly string[]): Task[] {
    const out: Task[] = [];
    for (const id of this.ids()) {
      const entry = this.#entries.get(id) as Entry;
      if (statuses && !statuses.includes(entry.status)) continue;
      if (entry.task) out.push(entry.task);
    }
    return out;
  }

  /** The ids with one of `statuses` (cheap: kept per status). */
  idsWith(statuses: readonly string[]): string[] {
    return statuses.flatMap((status) => [...(this.#byStatus.get(status) ?? [])]);
  }

  /**
   * bd's ready set at `nowMs`; worked out again only when the ready list changed (not on every
   * row: a finish or a renewal leaves it alone) or a defer time passed.
   */
  ready(nowMs: number): Task[] {
    const at = this.#readyAt;
    const generation = this.#readyIndex.generation;
    if (at && at.generation === generation && at.from <= nowMs && nowMs < at.until) return at.tasks;
    const deferred = this.#readyIndex.deferredUntil();
    if (deferred.size === 0) {
      const joined = this.#readyIndex.valuesJoined();
      // A record without its task (none is expected) is left out, as the walk below does.
      const tasks = joined.includes(undefined)
        ? joined.filter((task): task is Task => task !== undefined)
        : (joined as Task[]);
      this.#readyAt = { generation, from: nowMs, until: Number.POSITIVE_INFINITY, tasks };
      return tasks;
    }
    // A deferred issue is left out until its time, which is when this answer stops holding.
    let validUntil = Number.POSITIVE_INFINITY;
    const tasks: Task[] = [];
    this.#readyIndex.forEach((slim, task) => {
      const until = deferred.get(slim.id);
      if (until !== undefined && until > nowMs) {
        validUntil = Math.min(validUntil, until);
        return;
      }
      if (task !== undefined) tasks.push(task);
    });
    this.#readyAt = { generation, from: nowMs, until: validUntil, tasks };
    return tasks;
  }

  /** The prefix most ids use (`bd` for `bd-a1b2`), or undefined when there are none. */
  prefix(): string | undefined {
    const counts = new Map<string, number>();
    for (const id of this.#entries.keys()) {
      const base = id.split('.')[0] ?? id;
      const dash = base.lastIndexOf('-');
      if (dash > 0) counts.set(base.slice(0, dash), (counts.get(base.slice(0, dash)) ?? 0) + 1);
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [prefix, count] of counts) if (count > bestCount) [best, bestCount] = [prefix, count];
    return best;
  }

  problems(): StoreProblem[] {
    return [...this.#entries.values()].flatMap((entry) => entry.problems);
  }
}
