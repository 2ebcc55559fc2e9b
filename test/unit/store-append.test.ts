import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { beadsIssue } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

const line = (id: string) => JSON.stringify(beadsIssue(id));

async function fileWith(text: string, name: string): Promise<string> {
  const file = join(await testDir(name), 'issues.jsonl');
  writeFileSync(file, text);
  return file;
}

describe('adds append in place', () => {
  it('keeps the file (same inode, same leading bytes) when a commit only adds', async () => {
    const file = await fileWith(`${line('bd-a')}\n${line('bd-b')}\n`, 'append-inode');
    const before = readFileSync(file);
    const { ino } = statSync(file);
    await using store = await BeadsJsonlStore.open({ path: file });
    const added = await Promise.all([store.add({ title: 'one' }), store.add({ title: 'two' })]);
    expect(statSync(file).ino).toBe(ino);
    const after = readFileSync(file);
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    const ids = after
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(['bd-a', 'bd-b', ...added.map((t) => t.id)]);
  });

  it('ends an unterminated last line before appending', async () => {
    const file = await fileWith(line('bd-a'), 'append-newline');
    await using store = await BeadsJsonlStore.open({ path: file });
    const added = await store.add({ title: 'next' });
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(line('bd-a'));
    expect((JSON.parse(lines[1] as string) as { id: string }).id).toBe(added.id);
    expect(lines[2]).toBe('');
  });

  it('writes a change to an existing line, or a large batch, whole and renames it', async () => {
    const file = await fileWith(`${line('bd-a')}\n`, 'append-rename');
    const first = statSync(file).ino;
    await using store = await BeadsJsonlStore.open({ path: file });
    await store.update('bd-a', (t) => ({ ...t, title: 'renamed' }));
    const second = statSync(file).ino;
    expect(second).not.toBe(first);
    await Promise.all(
      Array.from({ length: 400 }, (_, i) => store.add({ title: `bulk ${i}`, description: 'x'.repeat(200) })),
    );
    expect(statSync(file).ino).not.toBe(second);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(401);
  });

  it('sees a line another writer appended between two of its appends', async () => {
    const file = await fileWith(`${line('bd-a')}\n`, 'append-foreign');
    await using store = await BeadsJsonlStore.open({ path: file });
    const one = await store.add({ title: 'one' });
    writeFileSync(file, `${line('bd-raw')}\n`, { flag: 'a' });
    const two = await store.add({ title: 'two' });
    const ids = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(['bd-a', one.id, 'bd-raw', two.id]);
    expect(store.get('bd-raw')?.title).toBe('bd-raw');
  });
});
