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
import { compareReady, computeReadyBase, excludedTypes, type ReadyBase } from './ready.js';

export class ReadyIndex<T> {
  readonly #slims: ReadonlyMap<string, SlimIssue>;
  readonly #openIds: () => Iterable<string>;
  readonly #valueFor: (slim: SlimIssue) => T;
  #base: ReadyBase | undefined;
  /** `valueFor` of each issue in the base, in its order (kept by the same splices). */
  #values: T[] = [];
  /** Ids changed in place since the base was brought up to date. */
  readonly #dirty = new Map<string, SlimIssue | undefined>();
  /** How many links point at each id (as target, or as a `waits-for` spawner). */
  readonly #linkedTo = new Map<string, number>();
  #generation = 0;

  /**
   * `slims`: every issue's record by id; `openIds`: the ids whose status is open; `valueFor`: what
   * `values()` gives for an issue (the task it is the record of), read when it enters the list.
   */
  constructor(
    slims: ReadonlyMap<string, SlimIssue>,
    openIds: () => Iterable<string>,
    valueFor: (slim: SlimIssue) => T,
  ) {
    this.#slims = slims;
    this.#openIds = openIds;
    this.#valueFor = valueFor;
  }

  /** One issue's record went from `before` to `after` (undefined: none). */
  changed(id: string, before: SlimIssue | undefined, after: SlimIssue | undefined): void {
    this.#count(before, -1);
    this.#count(after, 1);
    if (!this.#base) return;
    const inPlace = isPlain(before) && isPlain(after) && !this.#linkedTo.has(id);
    if (!inPlace) {
      this.#base = undefined;
      this.#dirty.clear();
      return;
    }
    // The record as it was in the ordered list is what a removal searches for: keep the first.
    if (!this.#dirty.has(id)) this.#dirty.set(id, before);
  }

  /**
   * Bumped whenever `base()` gives a different list, or an issue in it changed: an answer derived
   * from the base (ready tasks) holds while this stays the same. Most changes (a claimed task
   * finishing, a lease renewed) leave the ready list alone.
   */
  get generation(): number {
    this.base();
    return this.#generation;
  }

  /** The ready candidates in bd's order, and what defers each (see `computeReadyBase`). */
  base(): ReadyBase {
    if (!this.#base) {
      this.#generation++;
      const open: SlimIssue[] = [];
      for (const id of this.#openIds()) {
        const slim = this.#slims.get(id);
        if (slim) open.push(slim);
      }
      this.#base = computeReadyBase(open, this.#slims);
      this.#values = this.#base.ordered.map(this.#valueFor);
      this.#dirty.clear();
      return this.#base;
    }
    const { ordered } = this.#base;
    for (const [id, before] of this.#dirty) {
      if (before && readyAlone(before)) {
        const at = search(ordered, before);
        if (ordered[at]?.id === id) {
          ordered.splice(at, 1);
          this.#values.splice(at, 1);
          this.#generation++;
        }
      }
      const after = this.#slims.get(id);
      if (after && readyAlone(after)) {
        const at = search(ordered, after);
        ordered.splice(at, 0, after);
        this.#values.splice(at, 0, this.#valueFor(after));
        this.#generation++;
      }
    }
    this.#dirty.clear();
    return this.#base;
  }

  /**
   * What `valueFor` gave for each issue of `base().ordered`, in the same order: a list kept change
   * by change, where mapping the whole base after each change was the largest cost of a look.
   * Read-only to the caller, and changed by the next call: copy it to keep it.
   */
  values(): readonly T[] {
    this.base();
    return this.#values;
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
