/**
 * `ygg loop --concurrency N`: a loop runs at most N tasks at once across its hosts, and other
 * loops on the same store take the rest of the slots.
 */
import { describe, expect, it } from 'vitest';
import { Loop } from '../../src/dispatch/loop.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { EventBus } from '../../src/observe/events.js';
import type { Plugin } from '../../src/plugins/api.js';
import { openStore } from '../../src/store/open.js';
import { loopHarness, pluginSet } from '../helpers/loop-harness.js';

/** A handler that holds each task until the test lets it go; counts what runs at once, per loop. */
function held() {
  const waiting: Array<() => void> = [];
  const running = new Map<string, number>();
  let most = 0;
  /** The plugin as one loop has it (`owner` names that loop in the counts). */
  const pluginOf = (owner: string): Plugin => ({
    name: 'held',
    types: ['general'],
    async run() {
      running.set(owner, (running.get(owner) ?? 0) + 1);
      most = Math.max(
        most,
        [...running.values()].reduce((a, b) => a + b, 0),
      );
      await new Promise<void>((resolve) => waiting.push(resolve));
      running.set(owner, (running.get(owner) ?? 1) - 1);
      return 'done';
    },
  });
  const total = () => [...running.values()].reduce((a, b) => a + b, 0);
  return { pluginOf, waiting, running, total, most: () => most };
}

async function until(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const fourSlots = 'hosts:\n  surtr: { transport: local, slots: 4 }\n';

describe('a loop with --concurrency', () => {
  it('runs at most that many tasks at once, says why the rest wait, and keeps no slot it does not use', async () => {
    const h = held();
    const run = await loopHarness('concurrency-one-loop', fourSlots, pluginSet(h.pluginOf('loop')), {
      concurrency: 2,
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await run.store.add({ title: `task ${i}` })).id);
    await until(() => h.total() === 2, 'two tasks running');
    const waitingIds = ids.filter((id) => run.store.get(id)?.status === 'open');
    expect(waitingIds).toHaveLength(3);
    await until(
      () => waitingIds.every((id) => run.loop.holdups.get(id)?.reason.includes('--concurrency')),
      'the waiting tasks to say why',
    );
    expect(run.loop.holdups.get(waitingIds[0] as string)?.reason).toBe(
      'waiting: this loop runs 2 tasks at once (its --concurrency)',
    );
    // Let them go one by one: never more than two at once, on a host with four slots free.
    const allClosed = () => ids.every((id) => run.store.get(id)?.status === 'closed');
    while (!allClosed()) {
      await until(() => h.waiting.length > 0 || allClosed(), 'a task to let go');
      h.waiting.shift()?.();
    }
    await run.loop.untilIdle();
    expect(h.most()).toBe(2);
    expect(ids.map((id) => run.store.get(id)?.status)).toEqual(Array(5).fill('closed'));
    // What `ygg hosts` and the monitor show: nothing in use once nothing runs.
    expect(run.loop.slots.get('surtr')?.used).toBe(0);
  });

  it('gives every task of a large batch added while it is full its reason, one no handler serves included', async () => {
    const h = held();
    const run = await loopHarness('concurrency-batch-reasons', fourSlots, pluginSet(h.pluginOf('loop')), {
      concurrency: 1,
    });
    const first = await run.store.add({ title: 'the one that runs' });
    await until(() => h.total() === 1, 'the first task running');
    // More at once than one walk of the waiting tasks decides: the rest are decided when it is due.
    const batch = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        run.store.add({
          title: `task ${i}`,
          ...(i === 120 ? { metadata: { ygg: { handler: 'nosuch' } } } : {}),
        }),
      ),
    );
    const orphan = batch[120]?.id as string;
    const others = batch.map((t) => t.id).filter((id) => id !== orphan);
    await until(
      () =>
        run.loop.holdups.get(orphan)?.kind === 'no-handler' &&
        others.every((id) => run.loop.holdups.get(id)?.reason.includes('--concurrency')),
      'every waiting task to say why',
    );
    expect(run.loop.holdups.get(orphan)?.reason).toBe('no handler plugin named "nosuch" is loaded');
    expect(h.total()).toBe(1);
    expect(run.store.get(first.id)?.status).toBe('in_progress');
    for (const go of h.waiting) go();
  });

  it('leaves the other slots to a second loop on the same store', async () => {
    const h = held();
    const a = await loopHarness('concurrency-two-loops', fourSlots, pluginSet(h.pluginOf('loop-a')), {
      concurrency: 2,
      owner: 'loop-a',
    });
    // A second loop with its own store object, as another process would have.
    await using storeB = await openStore({ path: a.storePath, cwd: a.dir });
    const loopB = new Loop({
      store: storeB,
      config: a.config,
      plugins: pluginSet(h.pluginOf('loop-b')),
      bus: new EventBus(),
      owner: 'loop-b',
      concurrency: 2,
      transport: (host) => new LocalTransport(host.name),
    });
    await loopB.start();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i += 1) ids.push((await a.store.add({ title: `task ${i}` })).id);
      // Each loop may run two: four run at once only when both loops run two.
      await until(() => h.total() === 4, 'four tasks running');
      expect(h.running.get('loop-a')).toBe(2);
      expect(h.running.get('loop-b')).toBe(2);
      const allClosed = () => ids.every((id) => a.store.get(id)?.status === 'closed');
      while (!allClosed()) {
        await until(() => h.waiting.length > 0 || allClosed(), 'a task to let go');
        h.waiting.shift()?.();
      }
      expect(h.most()).toBe(4);
      expect(ids.map((id) => a.store.get(id)?.status)).toEqual(Array(6).fill('closed'));
    } finally {
      for (const go of h.waiting) go();
      await loopB.stop({ force: true });
    }
  });
});
