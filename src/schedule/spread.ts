/**
 * Several loops on one store each see the same ready list and the same free slots. Taking the
 * first tasks in order onto the lowest free slots, they all try the same claims, and all but one
 * are declined under the store's lock: with four loops, three claims in four were wasted.
 *
 * So while other loops hold slots, a loop spreads its choices. The tasks that start now are still
 * the first `window` in bd's order (as many as there are free slots): only which loop takes which
 * of them is left to chance, and never across a change of priority. Pure, so it is unit-tested.
 */

/**
 * `ordered` with each run of equal priority among its first `window` entries shuffled; the rest
 * as it was. `priorityOf` reads a task's priority (the first sort key of the order).
 */
export function spreadWindow<T>(
  ordered: readonly T[],
  window: number,
  priorityOf: (item: T) => unknown,
  random: () => number,
): T[] {
  const out = [...ordered];
  const end = Math.min(Math.max(0, Math.floor(window)), out.length);
  let start = 0;
  while (start < end) {
    let stop = start + 1;
    while (stop < end && priorityOf(out[stop] as T) === priorityOf(out[start] as T)) stop += 1;
    shuffle(out, start, stop, random);
    start = stop;
  }
  return out;
}

/** Fisher–Yates over `items[from, to)`. */
function shuffle<T>(items: T[], from: number, to: number, random: () => number): void {
  for (let i = to - 1; i > from; i -= 1) {
    const j = from + Math.floor(random() * (i - from + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

/** One of `candidates` at random (a free slot index), or undefined when there are none. */
export function pickAtRandom<T>(candidates: readonly T[], random: () => number): T | undefined {
  if (candidates.length === 0) return undefined;
  return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
}
