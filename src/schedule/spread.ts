/**
 * Several loops on one store each see the same ready list and the same free slots. Taking the
 * first tasks in order onto the lowest free slots, they all try the same claims, and all but one
 * are declined under the store's lock: with four loops of 8 executors, 10,500 claims were
 * declined for 4,000 tasks (a shuffle of the choices still left 3,700).
 *
 * So while other loops hold slots, each loop takes a share of its own first. The loops that hold
 * live leases, this one included, are sorted by owner: this loop is number `index` of `count`.
 * - Tasks: among the first `window` in bd's order, those whose id hashes to `index` come first,
 *   each priority on its own (never a task past one of higher priority). The window is the free
 *   slots times the loops: a loop's own tasks are one in `count`, so a window of the free slots
 *   alone held too few of them once the loops took theirs at different speeds, and the loops
 *   took the slowest one's tasks together (190 of 1,200 claims per loop declined, four loops of
 *   8 executors; 25-85 with this window). The tasks that start now are still among the first
 *   ones; which loop takes which is shared out.
 * - Slots: on each host, slot numbers that leave `index` when divided by `count` first, lowest
 *   first; then the others, highest first (the other loops take theirs lowest first).
 *
 * Loops that see each other as the same list agree on the shares and do not collide; one that
 * sees fewer loops for a moment collides now and then, and its claim is declined as before.
 * Pure, so it is unit-tested.
 */

/** This loop's place among the loops holding live leases on the store. */
export interface LoopShare {
  index: number;
  count: number;
}

/** This loop's share among `owners` (the other loops with live leases), or undefined when alone. */
export function loopShare(self: string, owners: Iterable<string>): LoopShare | undefined {
  const all = [...new Set([self, ...owners])].sort();
  return all.length > 1 ? { index: all.indexOf(self), count: all.length } : undefined;
}

/**
 * The other loops seen holding live leases within the last `keepMs`. A loop between two batches
 * of short tasks holds no lease for a moment; counted out then, every other loop's share shifts,
 * and for that moment they all take the same tasks and slots (a quarter of the claims of four
 * loops running no-op tasks were declined). Kept for a while, the shares stay put; a loop that
 * stopped is dropped once `gone` says so, or when the time runs out.
 */
export class RecentOwners {
  readonly #seen = new Map<string, number>();

  constructor(readonly keepMs = 5000) {}

  /** Notes `owners` as seen at `now`; returns every owner seen recently and not gone. */
  see(owners: Iterable<string>, now: number, gone?: (owner: string) => boolean): Set<string> {
    for (const owner of owners) this.#seen.set(owner, now);
    for (const [owner, at] of this.#seen) {
      if (now - at > this.keepMs || now < at || gone?.(owner)) this.#seen.delete(owner);
    }
    return new Set(this.#seen.keys());
  }
}

/** 32-bit FNV-1a: a task's id to a number that is the same in every loop. */
export function idHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i += 1) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * `ordered` with, in each run of equal rank (`rankOf`: the priority, and whether it is boosted)
 * among its first `window` entries, the items in this loop's share first (`idOf` names each);
 * order is kept within both parts, and the rest of the list is as it was.
 */
export function shareFirst<T>(
  ordered: readonly T[],
  window: number,
  rankOf: (item: T) => unknown,
  idOf: (item: T) => string,
  share: LoopShare,
): T[] {
  const end = Math.min(Math.max(0, Math.floor(window)), ordered.length);
  const mine = (item: T) => idHash(idOf(item)) % share.count === share.index;
  // Built from the window alone: splicing a list of 20,000 moved the whole of it each time.
  const head: T[] = [];
  let start = 0;
  while (start < end) {
    const rank = rankOf(ordered[start] as T);
    let stop = start + 1;
    while (stop < end && rankOf(ordered[stop] as T) === rank) stop += 1;
    const theirs: T[] = [];
    for (let i = start; i < stop; i += 1) {
      const item = ordered[i] as T;
      if (mine(item)) head.push(item);
      else theirs.push(item);
    }
    for (const item of theirs) head.push(item);
    start = stop;
  }
  // One copy of the list, its window written over: the rest stays as it was.
  const out = ordered.slice();
  for (let i = 0; i < head.length; i += 1) out[i] = head[i] as T;
  return out;
}

/** `slots` (free slot numbers of one host) in the order this loop takes them: see above. */
export function slotsInShareOrder(slots: readonly number[], share: LoopShare): number[] {
  const mine = (slot: number) => slot % share.count === share.index;
  return [
    ...slots.filter(mine).sort((a, b) => a - b),
    ...slots.filter((slot) => !mine(slot)).sort((a, b) => b - a),
  ];
}
