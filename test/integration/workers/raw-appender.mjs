// Appends COUNT issue lines with open/append/close, as `>>` does, without ygg's lock; it takes
// turns with the bd-like rewriter through a lock of their own (bd would lose its own appends).
// Usage: node raw-appender.mjs FILE OTHER_LOCK COUNT
import { appendFileSync, mkdirSync, rmdirSync } from 'node:fs';

const [file, otherLock, count] = process.argv.slice(2);
const take = () => {
  for (;;) {
    try {
      mkdirSync(otherLock);
      return;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
};
for (let i = 0; i < Number(count); i++) {
  take();
  const line = {
    id: `app-${i}`,
    title: `appended ${i}`,
    status: 'open',
    priority: 2,
    issue_type: 'task',
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
  rmdirSync(otherLock);
  await new Promise((done) => setTimeout(done, 3));
}
