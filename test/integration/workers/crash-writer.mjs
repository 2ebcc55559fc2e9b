// Writes without pause until killed: batches of adds and updates through ygg's store. Prints
// `ready` once open, then `add ID` and `set ID N` for each acknowledged write.
// Usage: node crash-writer.mjs FILE
import { openStore } from '../../../dist/src/store/open.js';

const [file] = process.argv.slice(2);
const store = await openStore({ path: file });
process.stdout.write('ready\n');
let n = 0;
for (;;) {
  const adds = Array.from({ length: 8 }, () => store.add({ title: `crash-${process.pid}-${n++}` }));
  const known = store.list().slice(-8);
  const sets = known.map((task) => {
    const value = n++;
    return store
      .update(task.id, (t) => ({ ...t, notes: `v${value}` }))
      .then((written) => written && process.stdout.write(`set ${task.id} ${value}\n`));
  });
  for (const task of await Promise.all(adds)) process.stdout.write(`add ${task.id}\n`);
  await Promise.all(sets);
}
