/**
 * A second process that adds tasks as `ygg add` does beside a running loop (the store's own add,
 * handed to the loop's journal as `ygg add` does when a loop runs on the store, durable before
 * it returns): for each id read on stdin it prints the time it began, then adds a task that
 * names the `probe` handler and carries the id in its title.
 */
import { createInterface } from 'node:readline';
import { openStore } from '../../src/store/open.js';

const [storePath] = process.argv.slice(2);
if (!storePath) throw new Error('usage: store-adder.ts STORE_PATH');
const store = await openStore({ path: storePath });
store.handOffToLoop?.();
for await (const id of createInterface({ input: process.stdin })) {
  const began = performance.timeOrigin + performance.now();
  await store.add({ title: id, priority: 2, metadata: { ygg: { handler: 'probe' } } });
  process.stdout.write(`${began}\n`);
}
await store.close();
