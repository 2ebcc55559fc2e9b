import { appendFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { QueuePolicy } from '../../src/dispatch/queue-policy.js';
import { feedCounters } from '../../src/observe/counter-feed.js';
import { Counters } from '../../src/observe/counters.js';
import type { Plugin } from '../../src/plugins/api.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { deferred, loopHarness, pluginSet } from '../helpers/loop-harness.js';

/** A handler the test drives: it records each start and waits until released (or aborted). */
function gate(types: string[]) {
  const started: Array<{ id: string; host: string }> = [];
  const releases = new Map<string, ReturnType<typeof deferred<void>>>();
  const gateOf = (id: string) => {
    if (!releases.has(id)) releases.set(id, deferred<void>());
    return releases.get(id)!;
  };
  const plugin: Plugin = {
    name: 'gate',
    types,
    async run(task: Task, ctx) {
      started.push({ id: task.id, host: ctx.host.name });
      const aborted = new Promise<never>((_, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      });
      await Promise.race([gateOf(task.id).promise, aborted]);
      return 'ok';
    },
  };
  return { plugin, started, release: (id: string) => gateOf(id).resolve(undefined) };
}

async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('the queue policy in the real loop', () => {
  it('caps a type across hosts (max_concurrent) while other types still run', async () => {
    const g = gate(['grader', 'general']);
    const yaml = `
hosts:
  surtr: { transport: local, slots: 2 }
  fenrir: { transport: local, slots: 2 }
types:
  grader: { hosts: [surtr, fenrir], max_concurrent: 2 }
  general: { hosts: [surtr, fenrir] }
type_rules:
  - { type: grader, labels: [grader] }
`;
    const h = await loopHarness('type-cap', yaml, pluginSet(g.plugin), { start: false });
    const graders: string[] = [];
    for (let i = 0; i < 4; i++)
      graders.push((await h.store.add({ title: `grade ${i}`, labels: ['grader'] })).id);
    const other = (await h.store.add({ title: 'something else' })).id;
    await h.loop.start();
    await until(() => g.started.length === 3);
    // Two graders (on whichever hosts) and the other task run; the third grader waits for one.
    const running = () => g.started.map((s) => s.id).filter((id) => graders.includes(id));
    expect([...running()].sort()).toEqual(graders.slice(0, 2).sort());
    expect(g.started.map((s) => s.id)).toContain(other);
    await h.store.flush();
    expect(h.store.get(graders[2]!)?.status).toBe('open');
    expect(h.loop.running.size).toBe(3);
    g.release(graders[0]!);
    await h.waitFor('task:started', (e) => e.taskId === graders[2]);
    expect([...h.loop.running.values()].filter((r) => r.type === 'grader').length).toBe(2);
    for (const id of [...graders, other]) g.release(id);
    await h.loop.untilIdle();
    expect([...graders, other].map((id) => h.store.get(id)?.status)).toEqual(Array(5).fill('closed'));
  });

  it('starts submitters in turns with queue.strategy fair, and uses a boost once', async () => {
    const g = gate(['general']);
    const yaml = `
hosts:
  surtr: { transport: local, slots: 1 }
queue: { strategy: fair }
`;
    const h = await loopHarness('fair-loop', yaml, pluginSet(g.plugin), {
      start: false,
      ...new QueuePolicy().hooks(),
    });
    const add = async (title: string, by: string, labels: string[] = []) =>
      (await h.store.add({ title, created_by: by, labels })).id;
    const a = [await add('a0', 'alice'), await add('a1', 'alice'), await add('a2', 'alice')];
    const b = [await add('b0', 'bob'), await add('b1', 'bob', ['boost'])];
    await h.loop.start();
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      await until(() => g.started.length > i);
      const id = g.started[i]!.id;
      order.push(id);
      g.release(id);
    }
    await h.loop.untilIdle();
    // The boosted task first, then turns: alice, bob, alice, alice.
    expect(order).toEqual([b[1], a[0], b[0], a[1], a[2]]);
    const boosted = h.store.get(b[1]!)!;
    expect(yggOf(boosted).boosted).toMatch(/^\d{4}-/);
    expect(boosted.labels).toEqual(['boost']);
  });

  it('holds a task for its rate limit without using an attempt, and starts it when the clock allows', async () => {
    const clock = new FakeClock();
    const g = gate(['general']);
    const yaml = `
hosts:
  surtr: { transport: local, slots: 4 }
queue:
  rate_limit: { starts: 1, window: 1m }
  lease: 1h
`;
    const h = await loopHarness('rate-limit', yaml, pluginSet(g.plugin), {
      start: false,
      clock,
      ...new QueuePolicy().hooks(),
    });
    const first = await h.store.add({ title: 'first', created_by: 'alice' });
    const second = await h.store.add({ title: 'second', created_by: 'alice' });
    const other = await h.store.add({ title: 'other', created_by: 'bob' });
    await h.loop.start();
    await h.waitFor('task:started', (e) => e.taskId === first.id);
    await h.waitFor('task:started', (e) => e.taskId === other.id);
    await until(() => h.loop.holdups.has(second.id));
    const holdup = h.loop.holdups.get(second.id)!;
    expect(holdup.kind).toBe('admission');
    expect(holdup.reason).toBe('waiting for its rate limit until 2026-01-01T00:01:00.000Z');
    // Free slots, yet it waits; no attempt was used and it is still plainly open.
    await h.store.flush();
    const held = h.store.get(second.id)!;
    expect(held.status).toBe('open');
    expect(yggOf(held).attempt).toBeUndefined();
    expect(g.started.map((s) => s.id)).not.toContain(second.id);
    // A wake-up is set for the time it may start.
    expect(clock.pending()).toContain(clock.now() + 60_000);
    await clock.advance(60_000);
    await h.waitFor('task:started', (e) => e.taskId === second.id);
    expect(yggOf(h.store.get(second.id)!).attempt).toBe(1);
    for (const t of [first, second, other]) g.release(t.id);
    await h.loop.untilIdle();
  });

  it('lets tasks written past queue.max_size wait, reported as over the limit, and counts what ran', async () => {
    const g = gate(['general', 'grader']);
    const yaml = `
hosts:
  surtr: { transport: local, slots: 4 }
type_rules:
  - { type: grader, labels: [grader] }
queue: { max_size: 2 }
`;
    const h = await loopHarness('over-limit', yaml, pluginSet(g.plugin), {
      start: false,
      ...new QueuePolicy().hooks(),
    });
    const counters = new Counters(h.store.runtimeDir);
    const feed = feedCounters({ bus: h.bus, counters, task: (id) => h.store.get(id) });
    // Another tool appends three tasks straight into the file: one more than the limit.
    const line = (id: string, second: number, labels: string[] = []) =>
      JSON.stringify({
        id,
        title: id,
        status: 'open',
        priority: 2,
        issue_type: 'task',
        created_at: `2026-01-01T00:00:0${second}Z`,
        updated_at: `2026-01-01T00:00:0${second}Z`,
        created_by: 'tool',
        ...(labels.length > 0 ? { labels } : {}),
      });
    await appendFile(h.storePath, `${line('t-1', 1, ['grader'])}\n${line('t-2', 2)}\n${line('t-3', 3)}\n`);
    await h.store.load();
    await h.loop.start();
    await until(() => g.started.length === 2 && h.loop.holdups.has('t-3'));
    expect(g.started.map((s) => s.id).sort()).toEqual(['t-1', 't-2']);
    expect(h.loop.holdups.get('t-3')).toMatchObject({
      kind: 'admission',
      reason: expect.stringMatching(/over the queue limit/),
    });
    expect(h.store.get('t-3')?.status).toBe('open');
    g.release('t-1');
    // Once an older task ends, it is within the limit and starts.
    await h.waitFor('task:started', (e) => e.taskId === 't-3');
    g.release('t-2');
    g.release('t-3');
    await h.loop.untilIdle();
    await feed.close();
    const data = await Counters.read(h.store.runtimeDir);
    expect(data.submitters.tool).toEqual({ attempts: 3, evaluations: 1, successes: 3, failures: 0 });
    expect(data.types.grader).toEqual({ attempts: 1, evaluations: 1, successes: 1, failures: 0 });
  });
});
