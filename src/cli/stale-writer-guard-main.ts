/**
 * The detached guard a command's adds were handed to (see stale-writer-guard.ts): reads the adds
 * from the file named on its command line, opens the store, takes them as its own writes and
 * closes, which waits until `settleMs` after the adds and appends any a writer without the lock
 * dropped. What it put back, or why it could not look, goes to `stale-writer-guard.log` in ygg's
 * runtime folder; it has no terminal to tell.
 */
import { appendFileSync, existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BeadsJsonlStore } from '../store/beads-jsonl/beads-store.js';

interface Header {
  path: string;
  runtimeDir: string;
  committedAt: number;
  settleMs: number;
}

async function guard(input: string): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(input);
  } catch {
    return; // taken by another guard, or its folder removed
  }
  const lines: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = bytes.indexOf(10, start);
    const stop = end === -1 ? bytes.length : end;
    if (stop > start) lines.push(bytes.subarray(start, stop));
    start = stop + 1;
  }
  const header = JSON.parse((lines.shift() ?? Buffer.from('{}')).toString('utf8')) as Header;
  // The store is gone (a removed temporary folder): nothing to guard, and nothing to write there.
  if (!existsSync(header.path)) return;
  const log = (text: string) => {
    try {
      appendFileSync(
        join(header.runtimeDir, 'stale-writer-guard.log'),
        `${new Date().toISOString()} ${text}\n`,
      );
    } catch {
      // the runtime folder went away with the store
    }
  };
  try {
    const store = await BeadsJsonlStore.open({
      path: header.path,
      runtimeDir: header.runtimeDir,
      settleMs: header.settleMs,
    });
    store.guardAdds(lines, header.committedAt);
    await store.close();
    const repairs = store.stats().repairs;
    if (repairs > 0)
      log(
        `${header.path}: put back ${repairs} of ${lines.length} added line(s) a writer without the lock dropped`,
      );
  } catch (error) {
    if (existsSync(header.path))
      log(`${header.path}: could not check ${lines.length} added line(s): ${(error as Error).message}`);
  }
}

const input = process.argv[2];
if (input) {
  try {
    await guard(input);
  } finally {
    try {
      unlinkSync(input);
    } catch {
      // removed with its folder
    }
  }
}
