// Rewrites the file as bd does, without ygg's lock: read it, change one issue's title and
// updated_at, write a temp file, fsync, rename over it. Prints each edit as `ID TITLE`.
// Usage: node bd-rewriter.mjs FILE OTHER_LOCK EDITS
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  writeSync,
} from 'node:fs';

const [file, otherLock, edits] = process.argv.slice(2);
const edited = new Set();
for (let k = 0; k < Number(edits); k++) {
  for (;;) {
    try {
      mkdirSync(otherLock);
      break;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  const lines = readFileSync(file, 'utf8').split('\n');
  // Only the seeded issues (ygg's own adds take the file's prefix too, as `seed-a1b2`).
  const candidates = lines
    .map((l, i) => [l, i])
    .filter(([l]) => /^\{"id":"seed-\d+"/.test(l) && !edited.has(JSON.parse(l).id));
  const [line, at] = candidates[Math.floor(Math.random() * candidates.length)];
  const issue = JSON.parse(line);
  issue.title = `edited-${k}`;
  issue.updated_at = new Date(Date.now() + 1000).toISOString();
  lines[at] = JSON.stringify(issue);
  const tmp = `${file}.bd-${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  writeSync(fd, lines.join('\n'));
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, file);
  rmdirSync(otherLock);
  edited.add(issue.id);
  process.stdout.write(`${issue.id} ${issue.title}\n`);
  await new Promise((done) => setTimeout(done, 20));
}
