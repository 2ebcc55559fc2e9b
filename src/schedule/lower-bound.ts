/**
 * A lower bound on the makespan of a batch of tasks, from their work and where they may run:
 * no schedule finishes before the busiest group of types has done its work on the slots that
 * group may use, nor before its longest task ran; and with one task per type at a time
 * (`legacy`), before each type's tasks ran one after another.
 */
export interface BoundTask {
  type: string;
  units: number;
}

export interface LowerBound {
  units: number;
  /** The argument that gives it, in words. */
  reason: string;
}

export function makespanLowerBound(
  tasks: readonly BoundTask[],
  eligible: Readonly<Record<string, readonly string[]>>,
  slots: Readonly<Record<string, number>>,
  legacy = false,
): LowerBound {
  const types = [...new Set(tasks.map((t) => t.type))].sort();
  const work = (group: readonly string[]) =>
    tasks.filter((t) => group.includes(t.type)).reduce((sum, t) => sum + t.units, 0);
  const longest = tasks.reduce((max, t) => Math.max(max, t.units), 0);
  let best: LowerBound = { units: longest, reason: `the longest task takes ${longest}` };
  const consider = (units: number, reason: string) => {
    if (units > best.units + 1e-9) best = { units, reason };
  };
  if (legacy) {
    for (const type of types)
      consider(work([type]), `${type} runs one task at a time: ${work([type])} in a row`);
    return best;
  }
  // Every non-empty group of types (2^types - 1 of them: a handful here).
  for (let mask = 1; mask < 1 << types.length; mask++) {
    const group = types.filter((_, i) => mask & (1 << i));
    const hosts = new Set(group.flatMap((type) => eligible[type] ?? []));
    const capacity = [...hosts].reduce((sum, host) => sum + (slots[host] ?? 0), 0);
    if (capacity === 0) continue;
    const names = [...hosts].sort().join(', ');
    consider(
      work(group) / capacity,
      `${group.join(' + ')}: work ${work(group)} over the ${capacity} slots of ${names}`,
    );
  }
  return best;
}
