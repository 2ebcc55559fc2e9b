/**
 * The peers workloads on BullMQ through its normal API (Queue.add / addBulk, a Worker with
 * `concurrency` as slots), each on a fresh queue of the given Redis.
 */
import { type ConnectionOptions, Queue, Worker } from 'bullmq';
import { seed30Tasks } from '../../src/dispatch/workloads.js';
import { redisClientClass } from './redis.js';
import {
  bulk,
  now,
  type PriorityTrace,
  percentile,
  pickup,
  priority,
  priorityScore,
  sleep,
  spill,
} from './workloads.js';

let queues = 0;
function fresh(what: string): string {
  queues += 1;
  return `peers-${what}-${process.pid}-${queues}`;
}

interface Rig extends AsyncDisposable {
  queue: Queue;
  workers: Worker[];
}

async function rig(
  port: number,
  what: string,
  concurrencies: number[],
  processor: (job: {
    name: string;
    data: Record<string, unknown>;
    opts: { priority?: number };
  }) => Promise<unknown>,
): Promise<Rig> {
  const Client = redisClientClass();
  // Workers block on Redis: their connection must retry forever (BullMQ's rule).
  const clients = [new Client({ host: '127.0.0.1', port, maxRetriesPerRequest: null })];
  const client = () => clients[0] as unknown as ConnectionOptions;
  const name = fresh(what);
  const queue = new Queue(name, { connection: client() });
  const workers = concurrencies.map(
    (concurrency) => new Worker(name, processor, { connection: client(), concurrency }),
  );
  await queue.waitUntilReady();
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    queue,
    workers,
    async [Symbol.asyncDispose]() {
      await Promise.all(workers.map((w) => w.close()));
      await queue.obliterate({ force: true });
      await queue.close();
      await Promise.all(clients.map((c) => c.quit()));
    },
  };
}

export async function bullPickup(port: number): Promise<{ p50: number; p99: number }> {
  let onStart: () => void = () => {};
  await using r = await rig(port, 'pickup', [8], async () => {
    onStart();
    return 'ok';
  });
  // A history the size of ygg's store: 1,000 finished jobs (this also warms the worker up).
  let finished = 0;
  const history = new Promise<void>((resolve) => {
    r.workers[0]!.on('completed', () => {
      finished += 1;
      if (finished === pickup.storeSize) resolve();
    });
  });
  await r.queue.addBulk(Array.from({ length: pickup.storeSize }, (_, i) => ({ name: `old-${i}`, data: {} })));
  await history;
  r.workers[0]!.removeAllListeners('completed');
  const latencies: number[] = [];
  for (let i = 0; i < pickup.samples; i += 1) {
    let startedAt = 0;
    const started = new Promise<void>((resolve) => {
      onStart = () => {
        startedAt = now();
        resolve();
      };
    });
    const done = new Promise<void>((resolve) => r.workers[0]!.once('completed', () => resolve()));
    const t0 = now();
    await r.queue.add(`pick-${i}`, {});
    await started;
    latencies.push(startedAt - t0);
    await done;
  }
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function bullBulk(port: number): Promise<number> {
  await using r = await rig(port, 'bulk', [bulk.slots], async () => 'ok');
  let done = 0;
  const all = new Promise<void>((resolve) => {
    r.workers[0]!.on('completed', () => {
      done += 1;
      if (done === bulk.tasks) resolve();
    });
  });
  const jobs = Array.from({ length: bulk.tasks }, (_, i) => ({ name: `bulk-${i}`, data: {} }));
  const t0 = now();
  await r.queue.addBulk(jobs);
  await all;
  return bulk.tasks / ((now() - t0) / 1000);
}

export async function bullPriority(port: number): Promise<{ lagMs: number; lowAfterHigh: number }> {
  const trace: PriorityTrace = { submittedAt: Number.POSITIVE_INFINITY, starts: [], releases: [] };
  let lowRunning = 0;
  let eightRunning = () => {};
  const busy = new Promise<void>((resolve) => {
    eightRunning = resolve;
  });
  let finished = 0;
  let allDone = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const total = priority.low + priority.high;
  await using r = await rig(port, 'priority', [priority.slots], async (job) => {
    const high = job.data.high === true;
    trace.starts.push({ high, at: now() });
    if (!high) {
      lowRunning += 1;
      if (lowRunning === priority.slots) eightRunning();
      await sleep(priority.lowMs);
      trace.releases.push(now());
    }
    return 'ok';
  });
  r.workers[0]!.on('completed', () => {
    finished += 1;
    if (finished === total) allDone();
  });
  // BullMQ: a lower number is a higher priority (0 would mean none, served first of all).
  await r.queue.addBulk(
    Array.from({ length: priority.low }, (_, i) => ({
      name: `low-${i}`,
      data: { high: false },
      opts: { priority: 10 },
    })),
  );
  await busy;
  await r.queue.addBulk(
    Array.from({ length: priority.high }, (_, i) => ({
      name: `high-${i}`,
      data: { high: true },
      opts: { priority: 1 },
    })),
  );
  trace.submittedAt = now();
  await done;
  const score = priorityScore(trace);
  return { lagMs: score.worstLagMs, lowAfterHigh: score.lowAfterHigh };
}

/** seed30 on three workers shaped like hosts.spill.yaml's hosts (2, 3 and 2 slots), any takes any. */
export async function bullSpill(port: number): Promise<number> {
  const tasks = seed30Tasks(spill.unitMs);
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  let finished = 0;
  let allDone = () => {};
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  await using r = await rig(port, 'spill', [2, 3, 2], async (job) => {
    first = Math.min(first, now());
    await sleep(job.data.ms as number);
    last = Math.max(last, now());
    return 'ok';
  });
  for (const w of r.workers)
    w.on('completed', () => {
      finished += 1;
      if (finished === tasks.length) allDone();
    });
  await r.queue.addBulk(
    tasks.map((t) => ({
      name: t.title,
      data: { ms: (t.metadata as { ygg: { simulate_ms: number } }).ygg.simulate_ms },
    })),
  );
  await done;
  return last - first;
}
