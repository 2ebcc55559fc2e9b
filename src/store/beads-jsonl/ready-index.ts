/**
 * bd's ready order kept up to date change by change, instead of worked out again from every open
 * issue after each one. A store shared by several dispatchers changes every few milliseconds
 * (each dispatcher's claims and outcomes), and each dispatcher looks at the ready list after
 * each change: sorting 4,000 open issues every time was a fifth of a dispatcher's work.
 *
 * A change is taken in place when it cannot touch another issue's readiness: neither the old nor
 * the new record has links or a defer time, and no issue links to it. Anything else (a blocker
 * closing, a parent deferred) recomputes the whole list with `computeReadyBase`, as before.
 */
import type { SlimIssue } from './line-record.js';
import { compareReady, computeReadyBase, excludedTypes } from './ready.js';

export class ReadyIndex<T> {
  readonly #slims: ReadonlyMap<string, SlimIssue>;
  readonly #openIds: () => Iterable<string>;
  readonly #valueFor: (slim: SlimIssue) => T;
  readonly #chunkSize: number;
  /** What defers each issue, from the last whole computation (changes in place never defer). */
  #deferredUntil: Map<string, number> | undefined;
  /** The ordered list in sorted chunks, each issue beside its value: see `#place`. */
  #chunks: Array<Chunk<T>> = [];
  /** Ids changed in place since the list was brought up to date. */
  readonly #dirty = new Map<string, SlimIssue | undefined>();
  /** How many links point at each id (as target, or as a `waits-for` spawner). */
  readonly #linkedTo = new Map<string, number>();
  #generation = 0;

  /**
   * `slims`: every issue's record by id; `openIds`: the ids whose status is open; `valueFor`: the
   * value kept beside an issue (the task it is the record of), read when it enters the list.
   * `chunkSize`: how many issues a chunk of the list holds before it is split (tests make it small).
   */
  constructor(
    slims: ReadonlyMap<string, SlimIssue>,
    openIds: () => Iterable<string>,
    valueFor: (slim: SlimIssue) => T,
    options: { chunkSize?: number } = {},
  ) {
    this.#slims = slims;
    this.#openIds = openIds;
    this.#valueFor = valueFor;
    this.#chunkSize = Math.max(1, options.chunkSize ?? 512);
  }

  /** One issue's record went from `before` to `after` (undefined: none). */
  changed(id: string, before: SlimIssue | undefined, after: SlimIssue | undefined): void {
    this.#count(before, -1);
    this.#count(after, 1);
    if (!this.#deferredUntil) return;
    const inPlace = isPlain(before) && isPlain(after) && !this.#linkedTo.has(id);
    if (!inPlace) {
      this.#deferredUntil = undefined;
      this.#dirty.clear();
      return;
    }
    // The record as it was in the ordered list is what a removal searches for: keep the first.
    if (!this.#dirty.has(id)) this.#dirty.set(id, before);
  }

  /**
   * Bumped whenever the list is different, or an issue in it changed: an answer derived from it
   * (ready tasks) holds while this stays the same. Most changes (a claimed task
   * finishing, a lease renewed) leave the ready list alone.
   */
  get generation(): number {
    this.#bringUpToDate();
    return this.#generation;
  }

  /** What defers each issue of the list (see `computeReadyBase`). */
  deferredUntil(): ReadonlyMap<string, number> {
    return this.#bringUpToDate();
  }

  /**
   * Every value of the list, in bd's order, in a new array, joined chunk by chunk by the engine (a
   * look after nearly every change: half the time of a walk that pushes each).
   */
  valuesJoined(): T[] {
    this.#bringUpToDate();
    return ([] as T[]).concat(...this.#chunks.map((chunk) => chunk.values));
  }

  /**
   * Calls `fn` with each issue of the list and its value, in bd's order, without joining the
   * chunks into new arrays.
   */
  forEach(fn: (slim: SlimIssue, value: T) => void): void {
    this.#bringUpToDate();
    for (const { slims, values } of this.#chunks) {
      for (let i = 0; i < slims.length; i++) fn(slims[i] as SlimIssue, values[i] as T);
    }
  }

  #bringUpToDate(): Map<string, number> {
    if (!this.#deferredUntil) {
      this.#generation++;
      const open: SlimIssue[] = [];
      for (const id of this.#openIds()) {
        const slim = this.#slims.get(id);
        if (slim) open.push(slim);
      }
      const base = computeReadyBase(open, this.#slims);
      this.#chunks = [];
      for (let at = 0; at < base.ordered.length; at += this.#chunkSize) {
        const slims = base.ordered.slice(at, at + this.#chunkSize);
        this.#chunks.push({ slims, values: slims.map(this.#valueFor) });
      }
      this.#deferredUntil = base.deferredUntil;
      this.#dirty.clear();
      return this.#deferredUntil;
    }
    for (const [id, before] of this.#dirty) {
      if (before && readyAlone(before) && this.#remove(id, before)) this.#generation++;
      const after = this.#slims.get(id);
      if (after && readyAlone(after)) {
        this.#insert(after);
        this.#generation++;
      }
    }
    this.#dirty.clear();
    return this.#deferredUntil;
  }

  /** Takes `slim` (the record as the list holds it) out; false when it was not there. */
  #remove(id: string, slim: SlimIssue): boolean {
    const c = this.#place(slim);
    const chunk = this.#chunks[c];
    if (!chunk) return false;
    const at = search(chunk.slims, slim);
    if (chunk.slims[at]?.id !== id) return false;
    chunk.slims.splice(at, 1);
    chunk.values.splice(at, 1);
    if (chunk.slims.length === 0) this.#chunks.splice(c, 1);
    return true;
  }

  #insert(slim: SlimIssue): void {
    if (this.#chunks.length === 0) {
      this.#chunks.push({ slims: [slim], values: [this.#valueFor(slim)] });
      return;
    }
    const c = Math.min(this.#place(slim), this.#chunks.length - 1);
    const chunk = this.#chunks[c] as Chunk<T>;
    const at = search(chunk.slims, slim);
    chunk.slims.splice(at, 0, slim);
    chunk.values.splice(at, 0, this.#valueFor(slim));
    // Split in two past twice the size: every splice stays within a small array.
    if (chunk.slims.length > 2 * this.#chunkSize) {
      const half = chunk.slims.length >>> 1;
      this.#chunks.splice(c + 1, 0, { slims: chunk.slims.splice(half), values: chunk.values.splice(half) });
    }
  }

  /** The first chunk whose last issue does not sort before `slim` (the chunk count: none). */
  #place(slim: SlimIssue): number {
    let low = 0;
    let high = this.#chunks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const chunk = this.#chunks[mid] as Chunk<T>;
      if (compareReady(chunk.slims[chunk.slims.length - 1] as SlimIssue, slim) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  #count(slim: SlimIssue | undefined, by: 1 | -1): void {
    for (const link of slim?.links ?? []) {
      for (const target of new Set([link.target, link.spawner ?? link.target])) {
        const count = (this.#linkedTo.get(target) ?? 0) + by;
        if (count > 0) this.#linkedTo.set(target, count);
        else this.#linkedTo.delete(target);
      }
    }
  }
}

/**
 * A run of the ordered list, sorted, with each issue's value beside it. One sorted array of
 * 20,000 issues cost a copy of the whole array for each claim taken from near its front (V8 moves
 * an array that large, kept apart from the others, whole); splices within chunks of hundreds do not.
 */
interface Chunk<T> {
  slims: SlimIssue[];
  values: T[];
}

/** No links and no defer time: its readiness is its own fields alone. */
function isPlain(slim: SlimIssue | undefined): boolean {
  return !slim || ((slim.links?.length ?? 0) === 0 && slim.deferUntil === undefined);
}

/** bd's rules for an issue with no links and no defer time. */
function readyAlone(slim: SlimIssue): boolean {
  return (
    slim.status === 'open' &&
    !slim.pinned &&
    !slim.ephemeral &&
    !excludedTypes.has(slim.issueType) &&
    slim.badShape !== true
  );
}

/** The first index whose issue does not sort before `slim`. */
function search(ordered: readonly SlimIssue[], slim: SlimIssue): number {
  let low = 0;
  let high = ordered.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareReady(ordered[mid] as SlimIssue, slim) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}
