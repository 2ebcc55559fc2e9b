/**
 * close() of a file store hands its stale-writer check to `settleElsewhere` only when all the
 * store wrote was appended new tasks; otherwise it waits and checks itself, as before.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import type { AddsToGuard } from '../../src/store/store.js';
import { testDir } from '../helpers/tmp.js';

async function emptyStore(name: string): Promise<string> {
  const path = join(await testDir(name), 'issues.jsonl');
  await writeFile(path, '');
  return path;
}

describe('BeadsJsonlStore.settleElsewhere', () => {
  it('hands over the appended lines, as written, and when they landed', async () => {
    const path = await emptyStore('settle-adds');
    const store = await BeadsJsonlStore.open({ path });
    const handed: AddsToGuard[] = [];
    store.settleElsewhere(async (adds) => {
      handed.push(adds);
      return true;
    });
    const before = Date.now();
    const a = await store.add({ title: 'a' });
    const b = await store.add({ title: 'b' });
    await store.close();
    expect(handed).toHaveLength(1);
    const adds = handed[0] as AddsToGuard;
    expect(adds.path).toBe(path);
    expect(adds.settleMs).toBe(250);
    expect(adds.committedAt).toBeGreaterThanOrEqual(before);
    const written = (await import('node:fs/promises')).readFile(path, 'utf8');
    expect(adds.lines.map((l) => l.toString('utf8'))).toEqual((await written).trim().split('\n'));
    expect(adds.lines.map((l) => JSON.parse(l.toString('utf8')).id)).toEqual([a.id, b.id]);
  });

  it('keeps the check when the store changed a task, or when the guard could not start', async () => {
    const path = await emptyStore('settle-update');
    const store = await BeadsJsonlStore.open({ path });
    let asked = 0;
    store.settleElsewhere(async () => {
      asked++;
      return true;
    });
    const a = await store.add({ title: 'a' });
    await store.update(a.id, (t) => ({ ...t, title: 'a2' }));
    await store.close();
    expect(asked).toBe(0);

    const other = await BeadsJsonlStore.open({ path });
    let refused = 0;
    other.settleElsewhere(async () => {
      refused++;
      return false;
    });
    await other.add({ title: 'b' });
    await other.close(); // waited itself: resolves all the same
    expect(refused).toBe(1);
  });
});
