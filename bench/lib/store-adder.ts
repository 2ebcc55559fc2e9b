/**
 * A second process that adds tasks as `ygg add` does beside a running loop: for each id read on
 * stdin it prints the time it began, then adds a task that names the `probe` handler and carries
 * the id in its title, durable before it returns. By default through `ygg add`'s own path (the
 * loop's intake when it listens); with `--journal`, the path without the intake: the command
 * takes the store's lock and writes the loop's journal itself.
 */
import { createInterface } from 'node:readline';
import { commitAdds } from '../../src/cli/add-commit.js';
import { openStore } from '../../src/store/open.js';

const [storePath, mode] = process.argv.slice(2);
if (!storePath) throw new Error('usage: store-adder.ts STORE_PATH [--journal]');
const store = await openStore({ path: storePath });
if (mode === '--journal') store.handOffToLoop?.();
for await (const id of createInterface({ input: process.stdin })) {
  const began = performance.timeOrigin + performance.now();
  const task = { title: id, priority: 2, metadata: { ygg: { handler: 'probe' } } };
  if (mode === '--journal') await store.add(task);
  else {
    const [added] = await commitAdds(store, [task], undefined, false);
    if (added?.status === 'rejected') throw added.reason;
  }
  process.stdout.write(`${began}\n`);
}
await store.close();
