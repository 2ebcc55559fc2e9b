import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyChange } from '../../src/dispatch/lifecycle/apply.js';
import type { ClaimChange } from '../../src/dispatch/lifecycle/changes.js';
import { isRevertOf } from '../../src/dispatch/lifecycle/reassert.js';
import { BeadsJsonlStore } from '../../src/store/beads-jsonl/beads-store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { beadsIssue } from '../helpers/store-file.js';
import { testDir } from '../helpers/tmp.js';

const t0 = Date.parse('2026-01-02T00:00:00Z');
const task = (id: string, extra: Record<string, unknown> = {}) => beadsIssue(id, extra) as Task;

async function storeWith(ids: string[], name: string): Promise<BeadsJsonlStore> {
  const dir = await testDir(name);
  const file = join(dir, 'issues.jsonl');
  writeFileSync(file, ids.map((id) => `${JSON.stringify(task(id))}\n`).join(''));
  return BeadsJsonlStore.open({ path: file });
}

const claim = (id: string, over: Partial<ClaimChange> = {}): ClaimChange => ({
  op: 'claim',
  id,
  owner: 'loop-1',
  host: 'surtr',
  slot: 0,
  type: 'reasoning',
  hostSlots: 2,
  leaseMs: 60_000,
  now: t0,
  ...over,
});

describe('the lifecycle on a real store', () => {
  it('two racing claims of a max_concurrent 1 type: exactly one succeeds', async () => {
    await using store = await storeWith(['a', 'b'], 'lifecycle-cap');
    const results = await Promise.all([
      applyChange(store, claim('a', { owner: 'loop-1', slot: 0, typeCap: 1 })),
      applyChange(store, claim('b', { owner: 'loop-2', slot: 1, typeCap: 1 })),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(store.list(['in_progress'])).toHaveLength(1);
  });

  it('a host’s slots hold across owners: a third claim on a 2-slot host is declined, and so is a slot in use', async () => {
    await using store = await storeWith(['a', 'b', 'c', 'd'], 'lifecycle-slots');
    expect(await applyChange(store, claim('a', { owner: 'loop-1', slot: 0 }))).toBeDefined();
    // Another loop asks for the same GPU-bound slot: declined; another index is fine.
    expect(await applyChange(store, claim('b', { owner: 'loop-2', slot: 0 }))).toBeUndefined();
    expect(await applyChange(store, claim('b', { owner: 'loop-2', slot: 1 }))).toBeDefined();
    expect(await applyChange(store, claim('c', { owner: 'loop-3', slot: 2 }))).toBeUndefined();
    // Another host is not affected.
    expect(await applyChange(store, claim('d', { owner: 'loop-3', host: 'fenrir' }))).toBeDefined();
    // Once a lease lapses, its slot is free again.
    const later = t0 + 61_000;
    const a = store.get('a')!;
    const renewed = await applyChange(store, {
      op: 'renew',
      id: 'a',
      token: yggOf(a).lease!.token,
      leaseMs: 60_000,
      now: t0 + 30_000,
    });
    expect(renewed).toBeDefined();
    // b lapsed at t0+60 s, a was renewed to t0+90 s: b's slot is free at t0+61 s, a's is not.
    expect(await applyChange(store, claim('c', { owner: 'loop-3', slot: 0, now: later }))).toBeUndefined();
    expect(await applyChange(store, claim('c', { owner: 'loop-3', slot: 1, now: later }))).toBeDefined();
  });

  it('a lapsed lease whose slot went to other work is not renewed; one whose slot is still free is', async () => {
    await using store = await storeWith(['a', 'b', 'c'], 'lifecycle-renew-lapsed');
    const a = (await applyChange(store, claim('a', { slot: 0 })))!;
    const c = (await applyChange(store, claim('c', { slot: 1 })))!;
    const later = t0 + 61_000; // both lapsed at t0+60 s
    // Another loop takes a's slot once a's lease lapsed.
    expect(await applyChange(store, claim('b', { owner: 'loop-2', slot: 0, now: later }))).toBeDefined();
    const renew = (task: Task) => ({
      op: 'renew' as const,
      id: task.id,
      token: yggOf(task).lease!.token,
      leaseMs: 60_000,
      now: later + 1,
    });
    // a's stalled loop comes back: its slot runs b now, so it must stop rather than renew.
    expect(await applyChange(store, renew(a))).toBeUndefined();
    // c's slot was not taken: renewing it late runs nothing twice.
    expect(await applyChange(store, renew(c))).toBeDefined();
  });

  it('claims and releases inside one commit see each other: never more than the host holds', async () => {
    await using store = await storeWith(['a', 'b', 'c', 'd', 'e', 'f'], 'lifecycle-one-commit');
    expect(await applyChange(store, claim('a', { slot: 0 }))).toBeDefined();
    const a = store.get('a')!;
    // Queued together, so one commit applies them in order: b fills the host, c and d are
    // declined, a's release frees slot 0, e takes it, f is declined again (same slot, then full).
    const results = await Promise.all([
      applyChange(store, claim('b', { owner: 'loop-2', slot: 1 })),
      applyChange(store, claim('c', { owner: 'loop-2', slot: 2 })),
      applyChange(store, claim('d', { owner: 'loop-3', slot: 0, typeCap: 2 })),
      applyChange(store, {
        op: 'release',
        id: 'a',
        ending: { token: yggOf(a).lease!.token, now: t0 + 1, outcome: 'cancelled' },
      }),
      applyChange(store, claim('e', { owner: 'loop-3', slot: 0, now: t0 + 2 })),
      applyChange(store, claim('f', { owner: 'loop-3', slot: 0, now: t0 + 2 })),
      applyChange(store, claim('f', { owner: 'loop-3', slot: 1, host: 'fenrir', now: t0 + 2, typeCap: 3 })),
    ]);
    expect(results.map((r) => r !== undefined)).toEqual([true, false, false, true, true, false, true]);
    expect(store.stats().commits).toBeLessThanOrEqual(3);
    const running = store.list(['in_progress']).map((t) => `${t.id}@${yggOf(t).lease?.host}`);
    expect(running.sort()).toEqual(['b@surtr', 'e@surtr', 'f@fenrir']);
  });

  it('a slot lent while waiting on a tool is not counted; taking it back is declined while the host is full', async () => {
    await using store = await storeWith(['a', 'b', 'c'], 'lifecycle-lend');
    const a = (await applyChange(store, claim('a', { hostSlots: 1 })))!;
    const token = yggOf(a).lease!.token;
    expect(await applyChange(store, claim('b', { owner: 'loop-2', hostSlots: 1 }))).toBeUndefined();
    await applyChange(store, { op: 'lend-slot', id: 'a', token, lent: true, now: t0 });
    expect(yggOf(store.get('a')!).lease?.lent).toBe(true);
    const b = await applyChange(store, claim('b', { owner: 'loop-2', hostSlots: 1 }));
    expect(b).toBeDefined();
    const back = { op: 'lend-slot' as const, id: 'a', token, lent: false, slot: 0, hostSlots: 1, now: t0 };
    expect(await applyChange(store, back)).toBeUndefined();
    await applyChange(store, {
      op: 'succeed',
      id: 'b',
      ending: { token: yggOf(b!).lease!.token, now: t0, outcome: 'succeeded' },
      closeReason: 'done',
      comment: 'ok',
    });
    expect(await applyChange(store, back)).toBeDefined();
    expect(yggOf(store.get('a')!).lease?.lent).toBeUndefined();
  });

  it('a lapsed lease is taken back by any loop, its own owner included; the old token then writes nothing', async () => {
    await using store = await storeWith(['a'], 'lifecycle-lapsed');
    const first = (await applyChange(store, claim('a', { leaseMs: 1000 })))!;
    expect(await applyChange(store, claim('a', { owner: 'loop-1', now: t0 + 500 }))).toBeUndefined();
    const again = (await applyChange(store, claim('a', { owner: 'loop-1', now: t0 + 2000 })))!;
    expect(yggOf(again).lease?.token).toBe(2);
    expect(yggOf(again).history?.[0]).toMatchObject({ outcome: 'lost' });
    const late = await applyChange(store, {
      op: 'succeed',
      id: 'a',
      ending: { token: yggOf(first).lease!.token, now: t0 + 2100, outcome: 'succeeded' },
      closeReason: 'done',
      comment: 'late',
    });
    expect(late).toBeUndefined();
    expect(store.get('a')?.status).toBe('in_progress');
  });

  it('puts our version back after a foreign writer’s older copy undid it, but never over a newer change', async () => {
    await using store = await storeWith(['a'], 'lifecycle-reassert');
    const before = store.get('a')!;
    const ours = (await applyChange(store, claim('a')))!;
    expect(isRevertOf(before, ours)).toBe(true);
    // A writer that read the file before our claim writes its copy back.
    await store.update('a', () => before);
    expect(store.get('a')?.status).toBe('open');
    const back = await applyChange(store, { op: 'reassert', id: 'a', ours });
    expect(back?.status).toBe('in_progress');
    expect(yggOf(back!).lease?.token).toBe(1);
    // Someone cancels it after that: a newer change, never undone.
    await applyChange(store, { op: 'cancel', id: 'a', by: 'alice', now: t0 + 5000 });
    expect(await applyChange(store, { op: 'reassert', id: 'a', ours })).toBeUndefined();
    expect(store.get('a')).toMatchObject({ status: 'closed', close_reason: 'cancelled' });
  });

  it('dead-letters, then sends back with a fresh count', async () => {
    await using store = await storeWith(['a'], 'lifecycle-dead');
    const claimed = (await applyChange(store, claim('a')))!;
    const token = yggOf(claimed).lease!.token;
    const dead = await applyChange(store, {
      op: 'dead-letter',
      id: 'a',
      ending: { token, now: t0 + 10, outcome: 'failed', error: 'boom\nmore' },
      attempts: 1,
      comment: 'ygg: failed 1 of 1 attempts',
    });
    expect(dead).toMatchObject({ status: 'blocked' });
    expect(yggOf(dead!).dead?.error).toBe('boom');
    const back = await applyChange(store, { op: 'send-back', id: 'a', now: t0 + 20 });
    expect(back?.status).toBe('open');
    expect(yggOf(back!).dead).toBeUndefined();
    expect(yggOf(back!).retried_at).toBeDefined();
  });
});
