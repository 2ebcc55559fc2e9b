// Writes to a store with every file descriptor of the process in use (EMFILE), then with them
// free again, and reports on stdout (one JSON line) what failed and whether the lock was left.
// Usage: node emfile-writer.mjs FILE LOCKPATH
import { closeSync, existsSync, openSync } from 'node:fs';
import { openStore } from '../../../dist/src/store/open.js';

const [file, lockPath] = process.argv.slice(2);
const store = await openStore({ path: file, lockTimeoutMs: 5_000 });
const report = {};

const held = [];
for (;;) {
  try {
    held.push(openSync('/dev/null', 'r'));
  } catch (error) {
    if (error.code !== 'EMFILE') throw error;
    break;
  }
}
try {
  await store.add({ title: 'while out of descriptors' });
  report.starved = 'added';
} catch (error) {
  report.starved = `failed: ${error.message}`;
}
// The release follows the failure by a few calls; a leaked lock never goes (it is kept fresh).
const deadline = Date.now() + 3_000;
while (existsSync(lockPath) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
report.lockLeftAfterFailure = existsSync(lockPath);
for (const fd of held) closeSync(fd);

try {
  const task = await store.add({ title: 'with descriptors again' });
  report.afterwards = `added ${task.id}`;
} catch (error) {
  report.afterwards = `failed: ${error.message}`;
}
await store.close();
report.lockLeftAtEnd = existsSync(lockPath);
process.stdout.write(`${JSON.stringify(report)}\n`);
