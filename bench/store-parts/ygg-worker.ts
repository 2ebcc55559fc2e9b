/**
 * One size of the store benchmark, in its own process so RSS is the store's: load the file, then
 * claim and close 1,000 ready tasks with up to 256 in flight, as a busy loop would.
 * Prints one JSON object: {load_ms, rss_mb, ygg_per_s, updates}.
 */

import { applyChange } from '../../src/dispatch/lifecycle/apply.js';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { yggOf } from '../../src/store/task.js';

const [path, tasksArg] = process.argv.slice(2) as [string, string?];
const started = performance.now();
const store = await BeadsJsonlStore.open({ path });
const loadMs = performance.now() - started;
const ids = store
  .ready()
  .slice(0, Number(tasksArg ?? 1000))
  .map((t) => t.id);

const begin = performance.now();
let next = 0;
let updates = 0;
async function lane(): Promise<void> {
  while (next < ids.length) {
    const slot = next;
    const id = ids[next++] as string;
    const now = Date.now();
    const claimed = await applyChange(store, {
      op: 'claim',
      id,
      owner: 'bench',
      host: 'bench',
      slot,
      type: 'bench',
      hostSlots: Number.MAX_SAFE_INTEGER,
      leaseMs: 600_000,
      now,
    });
    updates++;
    const token = claimed ? yggOf(claimed).lease?.token : undefined;
    if (token === undefined) continue;
    await applyChange(store, {
      op: 'succeed',
      id,
      ending: { token, now: Date.now(), outcome: 'succeeded' },
      closeReason: 'done',
      comment: 'ok',
    });
    updates++;
  }
}
await Promise.all(Array.from({ length: 256 }, lane));
const seconds = (performance.now() - begin) / 1000;
const rssMb = process.resourceUsage().maxRSS / 1024;
await store.close();
process.stdout.write(
  `${JSON.stringify({ load_ms: Math.round(loadMs), rss_mb: Math.round(rssMb), ygg_per_s: Math.round(updates / seconds), updates, commits: store.stats().commits })}\n`,
);
