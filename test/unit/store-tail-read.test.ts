/**
 * A store re-reads only the lines appended to its file when that is certainly an append; every
 * other change (a rename over it, a truncation, an edit in place, a line still being written)
 * reads the whole file, so what the store shows is always what the file holds.
 */
import { appendFile, open, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { beadsIssue } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

const line = (id: string, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify(beadsIssue(id, extra))}\n`;

async function storeOf(name: string, count: number): Promise<{ path: string; store: BeadsJsonlStore }> {
  const path = join(await testDir(name), 'issues.jsonl');
  await writeFile(path, Array.from({ length: count }, (_, i) => line(`t-${i}`)).join(''));
  return { path, store: await BeadsJsonlStore.open({ path }) };
}

/** Lines the store parsed while taking in the latest change. */
async function parsedBy(store: BeadsJsonlStore, change: () => Promise<void>): Promise<number> {
  const before = store.stats().linesParsed;
  await change();
  await store.refresh();
  return store.stats().linesParsed - before;
}

const ids = (store: BeadsJsonlStore) => store.list().map((t) => t.id);

describe('reading what was appended to the Beads file', () => {
  it('parses only appended lines, and reports a malformed one with its file and line', async () => {
    const { path, store } = await storeOf('tail-append', 50);
    expect(await parsedBy(store, () => appendFile(path, line('new-1') + line('new-2')))).toBe(2);
    expect(ids(store).slice(-2)).toEqual(['new-1', 'new-2']);
    expect(await parsedBy(store, () => appendFile(path, '{"id": broken\n'))).toBe(1);
    expect(store.problems().map((p) => p.message)).toEqual([
      expect.stringMatching(new RegExp(`^${path}:53: the line is not valid JSON`)),
    ]);
    // Kept byte for byte: the next write of the store leaves the bad line where it was.
    await store.update('t-0', (t) => ({ ...t, title: 'changed' }));
    await store.close();
  });

  it('takes in another process’s journal write without reading the file again', async () => {
    const { path, store } = await storeOf('tail-journal', 30);
    await using writer = await BeadsJsonlStore.open({ path });
    writer.handOffToLoop(); // its writes go to the journal only, as `ygg add` beside a loop
    const parsed = await parsedBy(store, async () => {
      await writer.add({ title: 'handed over' });
      await writer.update('t-3', (t) => ({ ...t, title: 'renamed in the journal' }));
    });
    expect(parsed).toBe(0);
    expect(store.list().at(-1)?.title).toBe('handed over');
    expect(store.get('t-3')?.title).toBe('renamed in the journal');
    await store.close();
  });

  it('reads the whole file after a rename over it, a truncation or an edit in place', async () => {
    const { path, store } = await storeOf('tail-whole', 20);
    // bd's way: a whole new file renamed over the store (grown, but another inode).
    await writeFile(`${path}.tmp`, Array.from({ length: 21 }, (_, i) => line(`r-${i}`)).join(''));
    expect(await parsedBy(store, () => rename(`${path}.tmp`, path))).toBe(21);
    expect(ids(store)[0]).toBe('r-0');
    // Truncated and written again in place, longer than before: same inode, different lines.
    const rewritten = Array.from({ length: 22 }, (_, i) => line(`w-${i}`, { title: `rewritten ${i}` })).join(
      '',
    );
    await parsedBy(store, async () => {
      await truncate(path, 0);
      await appendFile(path, rewritten);
    });
    expect(ids(store)).toEqual(Array.from({ length: 22 }, (_, i) => `w-${i}`));
    // An edit in place that grows the file: the last line moved, so the tail no longer matches.
    const handle = await open(path, 'r+');
    await handle.write(Buffer.from(`${rewritten.slice(0, 20)}X${rewritten.slice(20)}`), 0, undefined, 0);
    await handle.close();
    await store.refresh();
    expect(store.problems().length).toBeGreaterThan(0); // the first line no longer parses
    expect(ids(store)).toHaveLength(21);
    await store.close();
  });

  it('waits for a line still being written, then reads it whole', async () => {
    const { path, store } = await storeOf('tail-partial', 10);
    const full = line('late');
    await appendFile(path, full.slice(0, 15));
    await store.refresh();
    // A line without its newline: the whole file is read and the partial line is shown as it is.
    expect(ids(store)).toHaveLength(10);
    await appendFile(path, full.slice(15));
    await store.refresh();
    expect(ids(store).at(-1)).toBe('late');
    expect(store.problems()).toEqual([]);
    // And appends after it are read as a tail again.
    expect(await parsedBy(store, () => appendFile(path, line('after')))).toBe(1);
    expect(ids(store).at(-1)).toBe('after');
    await store.close();
  });
});
