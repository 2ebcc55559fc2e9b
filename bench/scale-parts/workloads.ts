/**
 * The scale bench's workloads, each on a fresh queue of one store with its own dispatcher
 * processes. On PostgreSQL each dispatcher names a machine of its own (as dispatchers sharing a
 * database do), so a dead one is known by its released session lock or its lapsed lease alone; on
 * the file they all run on this machine, as a file store's dispatchers do.
 */
import { percentile } from '../lib/workspace.js';
import { type DispatcherProcess, startFleet, stopFleet, untilAll } from './fleet.js';
import type { BenchStore, Queue } from './stores.js';

const machine = (store: BenchStore) => (i: number) =>
  store.kind === 'postgres' ? `bench-machine-${i}` : undefined;

async function withFleet<T>(
  store: BenchStore,
  count: number,
  work: (queue: Queue, fleet: DispatcherProcess[]) => Promise<T>,
): Promise<T> {
  const queue = await store.fresh();
  const fleet = await startFleet(count, queue.store, queue.config, machine(store));
  try {
    return await work(queue, fleet);
  } finally {
    await stopFleet(fleet);
    await queue.close();
  }
}

const total = (fleet: readonly DispatcherProcess[]) => fleet.reduce((sum, d) => sum + d.done, 0);

/** No-op tasks per second: `tasks` added at once by another process until the last succeeded. */
export function throughput(store: BenchStore, loops: number, tasks: number): Promise<number> {
  return withFleet(store, loops, async (queue, fleet) => {
    const t0 = performance.now();
    await queue.add(Array.from({ length: tasks }, () => ({ handler: 'noop' as const })));
    await untilAll(fleet, () => total(fleet) >= tasks, 600_000, `${tasks} tasks done`);
    return tasks / ((performance.now() - t0) / 1000);
  });
}

/** From one task's add by another process to its handler's start, on idle dispatchers. */
export function pickup(
  store: BenchStore,
  loops: number,
  samples: number,
): Promise<{ p50: number; p99: number }> {
  return withFleet(store, loops, async (queue, fleet) => {
    const latencies: number[] = [];
    for (let i = 0; i < samples; i += 1) {
      const before = total(fleet);
      const t0 = Date.now();
      const [id] = (await queue.add([{ handler: 'noop', report: true }])) as [string];
      const startedAt = () => fleet.find((d) => d.starts.has(id))?.starts.get(id);
      await untilAll(fleet, () => startedAt() !== undefined, 30_000, `task ${id} started`);
      latencies.push((startedAt() as number) - t0);
      // The next sample meets idle dispatchers.
      await untilAll(fleet, () => total(fleet) > before, 30_000, `task ${id} done`);
    }
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  });
}

/**
 * A dispatcher running four long tasks is killed (SIGKILL) or stops answering (SIGSTOP: a machine
 * gone without a word); ms from then until all four run on the other one.
 */
export function failover(store: BenchStore, signal: 'SIGKILL' | 'SIGSTOP'): Promise<number> {
  return withFleet(store, 1, async (queue, [victim]) => {
    const holder = victim as DispatcherProcess;
    const ids = await queue.add(
      Array.from({ length: 4 }, () => ({ handler: 'hold' as const, report: true, ms: 120_000 })),
    );
    await holder.until(() => ids.every((id) => holder.starts.has(id)), 60_000, 'its four tasks started');
    // The other starts with nothing to do: only the victim's lock or lease can set it going.
    const [other] = await startFleet(1, queue.store, queue.config, () => machine(store)(1));
    const survivor = other as DispatcherProcess;
    try {
      if (store.kind === 'postgres') await survivor.sees(holder.owner);
      const t0 = Date.now();
      await holder.kill(signal);
      await survivor.until(() => ids.every((id) => survivor.starts.has(id)), 120_000, "the victim's tasks");
      return Math.max(...ids.map((id) => survivor.starts.get(id) as number)) - t0;
    } finally {
      if (holder.running()) await holder.kill('SIGKILL');
      await survivor.stop();
    }
  });
}
