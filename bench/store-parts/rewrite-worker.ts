/**
 * The baseline: what bd's export and the Python dispatcher do on every update: read and parse the
 * whole file, change one issue, serialize every issue, write a temp file, fsync, rename.
 * Prints one JSON object: {rewrite_per_s, samples}.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

const [path, samplesArg] = process.argv.slice(2) as [string, string?];
const samples = Number(samplesArg ?? 5);
const begin = performance.now();
for (let s = 0; s < samples; s++) {
  const issues = readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const target = issues.find((i) => i.status === 'open');
  if (target) {
    target.status = s % 2 === 0 ? 'in_progress' : 'open';
    target.updated_at = new Date().toISOString();
  }
  const text = `${issues.map((i) => JSON.stringify(i)).join('\n')}\n`;
  const tmp = `${path}.baseline.tmp`;
  const fd = openSync(tmp, 'w');
  writeSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
}
const seconds = (performance.now() - begin) / 1000;
process.stdout.write(
  `${JSON.stringify({ rewrite_per_s: Number((samples / seconds).toFixed(2)), samples })}\n`,
);
