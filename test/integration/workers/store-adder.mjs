// Adds COUNT tasks one at a time through ygg's store (as COUNT `ygg add` calls would), printing
// each id once the add is acknowledged. Usage: node store-adder.mjs FILE NAME COUNT
import { openStore } from '../../../dist/src/store/open.js';

const [file, name, count] = process.argv.slice(2);
const store = await openStore({ path: file });
for (let i = 0; i < Number(count); i++) {
  const task = await store.add({ title: `${name}-${i}`, created_by: name });
  process.stdout.write(`${task.id} ${name}-${i}\n`);
}
await store.close();
