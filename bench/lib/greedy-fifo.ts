/**
 * What greedy FIFO allows on a workload: whenever a slot is free, the oldest waiting task that
 * one of its eligible hosts can take starts there (the host earliest in its preference order),
 * with no wait between a slot's release and the next start. The spill target is read against it.
 */
export function greedyFifoMakespan(
  tasks: ReadonlyArray<{ type: string; units: number }>,
  hostsOf: (type: string) => readonly string[],
  slots: Readonly<Record<string, number>>,
): number {
  const freeAt = new Map(Object.entries(slots).map(([host, n]) => [host, Array<number>(n).fill(0)]));
  const waiting = [...tasks];
  let now = 0;
  let end = 0;
  while (waiting.length > 0) {
    for (let i = 0; i < waiting.length; ) {
      const task = waiting[i]!;
      let placed = false;
      for (const host of hostsOf(task.type)) {
        const free = freeAt.get(host);
        const slot = free?.findIndex((at) => at <= now) ?? -1;
        if (!free || slot < 0) continue;
        free[slot] = now + task.units;
        end = Math.max(end, now + task.units);
        placed = true;
        break;
      }
      if (placed) waiting.splice(i, 1);
      else i += 1;
    }
    const next = Math.min(...[...freeAt.values()].flat().filter((at) => at > now));
    if (!Number.isFinite(next)) break;
    now = next;
  }
  return end;
}
