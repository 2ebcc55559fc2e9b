import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { beadsIssue } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

const line = (id: string) => JSON.stringify(beadsIssue(id));
const openDescriptors = () => readdirSync('/proc/self/fd').length;

describe('files the store replaced', () => {
  it('keeps a bounded number open however many commits run (hundreds a second hold no thousands of descriptors)', async () => {
    const dir = await testDir('replaced-bounded');
    const file = join(dir, 'issues.jsonl');
    writeFileSync(file, `${line('bd-a')}\n${line('bd-b')}\n`);
    await using store = await BeadsJsonlStore.open({ path: file });
    const before = openDescriptors();
    for (let i = 0; i < 200; i++) await store.update('bd-a', (t) => ({ ...t, title: `title ${i}` }));
    expect(store.stats().commits).toBeGreaterThanOrEqual(200);
    expect(openDescriptors() - before).toBeLessThanOrEqual(40);
    expect(store.get('bd-a')?.title).toBe('title 199');
  });

  it('still carries a line that a writer appended to the file just replaced', async () => {
    const dir = await testDir('replaced-late-append');
    const file = join(dir, 'issues.jsonl');
    writeFileSync(file, `${line('bd-a')}\n`);
    await using store = await BeadsJsonlStore.open({ path: file });
    // A writer without the lock (`echo >> issues.jsonl`) opens the file, then we replace it, ten times.
    const late = openSync(file, 'a');
    for (let i = 0; i < 10; i++) await store.update('bd-a', (t) => ({ ...t, title: `title ${i}` }));
    writeSync(late, `${line('bd-late')}\n`);
    closeSync(late);
    await store.update('bd-a', (t) => ({ ...t, title: 'last' }));
    await store.flush();
    expect(store.get('bd-late')?.id).toBe('bd-late');
    const ids = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids).toEqual(['bd-a', 'bd-late']);
  });
});
