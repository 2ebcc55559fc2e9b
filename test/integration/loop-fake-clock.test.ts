import { appendFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { Plugin } from '../../src/plugins/api.js';
import { yggOf } from '../../src/store/task.js';
import { FakeClock, settle } from '../helpers/fake-clock.js';
import { loopHarness, pluginSet } from '../helpers/loop-harness.js';
import { beadsIssue } from '../helpers/store-file.js';
import { waitUntil } from '../helpers/wait.js';

const hostsYaml = (extra = '') => `
hosts:
  surtr: { transport: local, slots: 2 }
types:
  general:
    hosts: [surtr]
${extra}
defaults:
  attempts: 1
`;

/** A handler that ignores its signal until the test lets it go, recording what it saw. */
function stubborn() {
  const seen = { aborted: [] as number[], started: [] as string[] };
  const plugin: Plugin = {
    name: 'stubborn',
    types: ['general'],
    run(task, ctx) {
      seen.started.push(task.id);
      ctx.signal.addEventListener('abort', () => seen.aborted.push(Date.now()));
      return new Promise(() => {});
    },
  };
  return { plugin, seen };
}

/** A handler that succeeds at once, recording which tasks it ran. */
function recording() {
  const ran: string[] = [];
  const plugin: Plugin = {
    name: 'quick',
    types: ['general'],
    async run(task) {
      ran.push(task.id);
      return 'done';
    },
  };
  return { plugin, ran };
}

describe('the loop on a fake clock', () => {
  it('aborts the handler’s signal at the soft timeout and fails the attempt at the hard one', async () => {
    const clock = new FakeClock();
    const { plugin, seen } = stubborn();
    const yaml = hostsYaml('    timeout: 5s\n    hard_timeout: 6s');
    const h = await loopHarness('fake-clock-timeouts', yaml, pluginSet(plugin), { clock });
    const task = await h.store.add({ title: 'slow' });
    await h.waitFor('task:started', (e) => e.taskId === task.id);
    await waitUntil(() => seen.started.includes(task.id));
    await clock.advance(4999);
    expect(seen.aborted).toHaveLength(0);
    await clock.advance(1);
    expect(seen.aborted).toHaveLength(1);
    await clock.advance(1000);
    const failed = await h.waitFor('task:failed', (e) => e.taskId === task.id);
    expect(failed.reason).toBe('hard-timeout');
    await h.waitFor('task:dead', (e) => e.taskId === task.id);
    expect(h.store.get(task.id)?.status).toBe('blocked');
  });

  it('takes back a task left in progress under its own lapsed lease, recording the lost attempt', async () => {
    const clock = new FakeClock();
    const { plugin: quick, ran } = recording();
    const h = await loopHarness('fake-clock-own-lease', hostsYaml(), pluginSet(quick), {
      clock,
      owner: 'this-loop',
      start: false,
    });
    const expired = new Date(clock.now() - 1000).toISOString();
    const stuck = beadsIssue('stuck-1', {
      status: 'in_progress',
      assignee: 'ygg',
      metadata: {
        ygg: {
          attempt: 1,
          lease: { owner: 'this-loop', token: 3, expires: expired, host: 'surtr', slot: 0 },
          history: [{ attempt: 1, host: 'surtr', start: expired }],
        },
      },
    });
    await appendFile(h.storePath, `${JSON.stringify(stuck)}\n`);
    await h.store.load();
    await h.loop.start();
    await h.waitFor('task:succeeded', (e) => e.taskId === 'stuck-1');
    const done = h.store.get('stuck-1')!;
    expect(done.status).toBe('closed');
    expect(yggOf(done).lease?.token).toBe(4);
    expect(yggOf(done).history?.map((a) => a.outcome)).toEqual(['lost', 'succeeded']);
    expect(ran).toEqual(['stuck-1']);
  });

  it('leaves a task under another loop’s live lease alone until the lease lapses', async () => {
    const clock = new FakeClock();
    const { plugin: quick, ran } = recording();
    const h = await loopHarness('fake-clock-other-lease', hostsYaml(), pluginSet(quick), {
      clock,
      start: false,
    });
    const expires = new Date(clock.now() + 10_000).toISOString();
    const held = beadsIssue('held-1', {
      status: 'in_progress',
      assignee: 'ygg',
      metadata: {
        ygg: { attempt: 1, lease: { owner: 'elsewhere:1:1', token: 1, expires, host: 'surtr', slot: 0 } },
      },
    });
    await appendFile(h.storePath, `${JSON.stringify(held)}\n`);
    await h.store.load();
    await h.loop.start();
    await clock.advance(9_000);
    await settle();
    expect(ran).toEqual([]);
    await clock.advance(1_500);
    await h.waitFor('task:succeeded', (e) => e.taskId === 'held-1');
    expect(ran).toEqual(['held-1']);
    expect(yggOf(h.store.get('held-1')!).lease?.token).toBe(2);
  });
});
