/**
 * The Python dispatcher ygg replaces, simulated on a batch of tasks, so `ygg demo` can say how
 * much sooner ygg finished without running the old one. What it did, as modelled here:
 * - it found new work only when it polled (every 2 s on the benchmark's clock of 1 unit = 1 s);
 *   a slot freed between two polls stayed idle until the next;
 * - it sent each type to one host (the type's first) under that host's semaphore (its slots);
 * - in its first ("legacy") mode it ran one task of a type at a time;
 * - it took the tasks in queue order (priority, then oldest first), as given.
 * A task that ends at a poll's instant is replaced at that poll.
 */

export interface LegacyTask {
  type: string;
  ms: number;
}

export interface LegacySetup {
  /** Eligible hosts per type, in order of preference; the Python dispatcher used the first. */
  hostsOf(type: string): readonly string[];
  /** Slots per host (its semaphore). */
  slots: Readonly<Record<string, number>>;
  pollMs: number;
  /** One running task per type (its legacy mode); false: per-host semaphores only. */
  onePerType: boolean;
}

export interface LegacyRun {
  task: number;
  host: string;
  slot: number;
  start: number;
  end: number;
}

export interface LegacySimulation {
  makespanMs: number;
  runs: LegacyRun[];
  /** Tasks it could never start: no host for their type, or a host without slots. */
  unrun: number[];
}

export function simulateLegacyDispatcher(tasks: readonly LegacyTask[], setup: LegacySetup): LegacySimulation {
  if (!(setup.pollMs > 0)) throw new RangeError('pollMs must be more than 0');
  const hostOf = (task: LegacyTask) => setup.hostsOf(task.type)[0];
  const unrun: number[] = [];
  const waiting: number[] = [];
  tasks.forEach((task, index) => {
    const host = hostOf(task);
    if (host !== undefined && (setup.slots[host] ?? 0) > 0) waiting.push(index);
    else unrun.push(index);
  });
  // When each slot of each host is next free.
  const freeAt = new Map(Object.entries(setup.slots).map(([host, n]) => [host, Array<number>(n).fill(0)]));
  const typeFreeAt = new Map<string, number>();
  const runs: LegacyRun[] = [];
  let now = 0;
  while (waiting.length > 0) {
    for (let i = 0; i < waiting.length; ) {
      const index = waiting[i]!;
      const task = tasks[index]!;
      const slots = freeAt.get(hostOf(task)!)!;
      const slot = slots.findIndex((at) => at <= now);
      const typeFree = !setup.onePerType || (typeFreeAt.get(task.type) ?? 0) <= now;
      if (slot < 0 || !typeFree) {
        i += 1;
        continue;
      }
      const end = now + Math.max(0, task.ms);
      slots[slot] = end;
      typeFreeAt.set(task.type, end);
      runs.push({ task: index, host: hostOf(task)!, slot, start: now, end });
      waiting.splice(i, 1);
    }
    if (waiting.length === 0) break;
    // Nothing changes before a run ends: go to the first poll at or after the next end.
    const nextEnd = Math.min(...[...freeAt.values()].flat().filter((at) => at > now));
    if (!Number.isFinite(nextEnd)) {
      unrun.push(...waiting.splice(0));
      break;
    }
    now = Math.max(now + setup.pollMs, Math.ceil(nextEnd / setup.pollMs) * setup.pollMs);
  }
  return { makespanMs: Math.max(0, ...runs.map((r) => r.end)), runs, unrun };
}
