import { describe, expect, it } from 'vitest';
import { Loop } from '../../src/dispatch/loop.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { EventBus } from '../../src/observe/events.js';
import type { Plugin } from '../../src/plugins/api.js';
import { retryDelay } from '../../src/schedule/backoff.js';
import { openStore } from '../../src/store/open.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { deferred, loopHarness, pluginSet } from '../helpers/loop-harness.js';

/** A handler the test drives: it records each start and waits until released (or aborted). */
function gate() {
  const started: Array<{ id: string; host: string; attempt: number }> = [];
  const releases = new Map<string, ReturnType<typeof deferred<void>>>();
  const release = (id: string) => {
    if (!releases.has(id)) releases.set(id, deferred<void>());
    releases.get(id)!.resolve(undefined);
  };
  const plugin: Plugin = {
    name: 'gate',
    types: ['general', 'code-generation', 'reasoning', 'text-processing'],
    async run(task: Task, ctx) {
      started.push({ id: task.id, host: ctx.host.name, attempt: ctx.attempt });
      if (!releases.has(task.id)) releases.set(task.id, deferred<void>());
      const aborted = new Promise<never>((_, reject) => {
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
      });
      await Promise.race([releases.get(task.id)!.promise, aborted]);
      return `released ${task.id}`;
    },
  };
  return { plugin, started, release };
}

const oneHost = (slots: number, extra = '') => `
hosts:
  surtr:
    transport: local
    slots: ${slots}
${extra}`;

async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('the dispatch loop', () => {
  it('never runs more tasks on a host than it has slots', async () => {
    const g = gate();
    const h = await loopHarness('slots', oneHost(2), pluginSet(g.plugin));
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await h.store.add({ title: `task ${i}`, priority: 2 })).id);
    await h.waitFor('task:started', (e) => e.taskId === ids[1]);
    await h.waitFor('task:started', (e) => e.taskId === ids[0]);
    // The handlers are called just after the start is told.
    await until(() => g.started.length === 2);
    // Two run; the third has not started, and is still open in the file.
    await h.store.flush();
    expect(g.started.map((s) => s.id).sort()).toEqual([ids[0], ids[1]].sort());
    expect(h.store.get(ids[2]!)?.status).toBe('open');
    g.release(ids[0]!);
    await h.waitFor('task:started', (e) => e.taskId === ids[2]);
    expect(h.loop.running.size).toBe(2);
    g.release(ids[1]!);
    g.release(ids[2]!);
    await h.loop.untilIdle();
    expect(ids.map((id) => h.store.get(id)?.status)).toEqual(['closed', 'closed', 'closed']);
  });

  it('starts tasks by priority, then oldest first', async () => {
    const g = gate();
    const h = await loopHarness('priority', oneHost(1), pluginSet(g.plugin), { start: false });
    const low = await h.store.add({ title: 'low', priority: 3 });
    const firstMedium = await h.store.add({ title: 'medium 1', priority: 2 });
    const secondMedium = await h.store.add({ title: 'medium 2', priority: 2 });
    const critical = await h.store.add({ title: 'critical', priority: 0 });
    await h.loop.start();
    const order = [critical, firstMedium, secondMedium, low].map((t) => t.id);
    for (const id of order) {
      await until(() => g.started.some((s) => s.id === id));
      g.release(id);
    }
    await h.loop.untilIdle();
    expect(g.started.map((s) => s.id)).toEqual(order);
  });

  it('does not hold a task for a free host behind a task waiting for a full one', async () => {
    const g = gate();
    const yaml = `
hosts:
  skadi-code: { transport: local, slots: 1 }
  fenrir-chat: { transport: local, slots: 1 }
types:
  code-generation: { hosts: [skadi-code] }
  text-processing: { hosts: [fenrir-chat] }
`;
    const h = await loopHarness('hol', yaml, pluginSet(g.plugin), { start: false });
    const running = await h.store.add({ title: 'code 1', priority: 0, labels: ['code-generation'] });
    const queued = await h.store.add({ title: 'code 2', priority: 0, labels: ['code-generation'] });
    const text = await h.store.add({ title: 'text', priority: 3, labels: ['text-processing'] });
    await h.loop.start();
    await until(() => g.started.length === 2);
    expect(g.started.map((s) => s.id).sort()).toEqual([running.id, text.id].sort());
    expect(h.store.get(queued.id)?.status).toBe('open');
    for (const t of [running, queued, text]) g.release(t.id);
    await h.loop.untilIdle();
  });

  it('reports a task no host can take, and one no plugin handles, once each with the reason', async () => {
    const g = gate();
    const yaml = `
hosts:
  surtr: { transport: local, slots: 1 }
types:
  reasoning: { hosts: [] }
`;
    const h = await loopHarness('unroutable', yaml, pluginSet({ ...g.plugin, types: ['reasoning'] }));
    const nowhere = await h.store.add({ title: 'analyze this', labels: ['reasoning'] });
    const nohandler = await h.store.add({ title: 'summarize that', labels: ['summarize'] });
    const a = await h.waitFor('task:unroutable', (e) => e.taskId === nowhere.id);
    const b = await h.waitFor('task:unroutable', (e) => e.taskId === nohandler.id);
    expect(a.reason).toMatch(/no host is eligible for type "reasoning"/);
    expect(b.reason).toMatch(/no handler plugin serves type "summarize"/);
    await h.loop.untilIdle();
    expect(h.events.filter((e) => e.event === 'task:unroutable').length).toBe(2);
    expect(h.loop.holdups.get(nowhere.id)?.kind).toBe('unroutable');
  });

  it('retries with backoff on the injected clock, preferring another host, then dead-letters', async () => {
    const clock = new FakeClock();
    const hosts: string[] = [];
    const failing: Plugin = {
      name: 'failing',
      types: ['general'],
      async run(_task, ctx) {
        hosts.push(ctx.host.name);
        throw new Error(`broke on ${ctx.host.name}`);
      },
    };
    const yaml = `
hosts:
  surtr: { transport: local, slots: 1 }
  fenrir: { transport: local, slots: 1 }
types:
  general:
    hosts: [surtr, fenrir]
    attempts: 3
    backoff: { base: 10s, max: 1m, factor: 2, jitter: 0.5 }
`;
    const h = await loopHarness('retry', yaml, pluginSet(failing), { clock, random: () => 0.5 });
    const task = await h.store.add({ title: 'flaky' });
    const retry1 = await h.waitFor('task:retry', (e) => e.taskId === task.id);
    const settings = h.config.types.general!.backoff;
    expect(retry1.delayMs).toBe(retryDelay(1, settings, () => 0.5));
    expect(Date.parse(yggOf(h.store.get(task.id)!).next_try_at!)).toBe(clock.now() + retry1.delayMs);
    // Nothing happens before the clock reaches the retry time.
    expect(hosts).toEqual(['surtr']);
    await clock.advance(retry1.delayMs);
    const retry2 = await h.waitFor('task:retry', (e) => e.taskId === task.id && e.attempt === 2);
    expect(retry2.delayMs).toBe(retryDelay(2, settings, () => 0.5));
    expect(hosts).toEqual(['surtr', 'fenrir']);
    await clock.advance(retry2.delayMs);
    const dead = await h.waitFor('task:dead', (e) => e.taskId === task.id);
    expect(dead.attempts).toBe(3);
    const stored = h.store.get(task.id)!;
    expect(stored.status).toBe('blocked');
    expect(yggOf(stored).dead?.error).toMatch(/broke on/);
    expect(stored.comments?.at(-1)?.text).toMatch(/failed 3 of 3 attempts/);
    // The wait (ready to started) does not count the backoff: the retries started at once.
    const waits = h.events
      .filter((e) => e.event === 'task:claimed')
      .map((e) => (e.payload as { waitMs: number }).waitMs);
    expect(waits).toEqual([0, 0, 0]);
  });

  it('takes attempts from the task, then its type, then its handler plugin, then the defaults', async () => {
    const plugin: Plugin = {
      name: 'twice',
      types: ['general', 'capped'],
      attempts: 2,
      async run() {
        throw new Error('no luck');
      },
    };
    const yaml = `
hosts:
  surtr: { transport: local, slots: 4 }
defaults: { attempts: 5, backoff: { base: 1ms, max: 1ms } }
type_rules:
  - { type: capped, labels: [capped] }
types:
  capped: { hosts: [surtr], attempts: 1 }
`;
    const h = await loopHarness('attempts-precedence', yaml, pluginSet(plugin));
    const byPlugin = await h.store.add({ title: 'plugin decides' });
    const byType = await h.store.add({ title: 'type decides', labels: ['capped'] });
    const byTask = await h.store.add({ title: 'task decides', metadata: { ygg: { attempts: 3 } } });
    const dead = async (id: string) => (await h.waitFor('task:dead', (e) => e.taskId === id)).attempts;
    expect(await dead(byPlugin.id)).toBe(2);
    expect(await dead(byType.id)).toBe(1);
    expect(await dead(byTask.id)).toBe(3);
  });

  it('waits at least what a Retry-After asked for before the next try', async () => {
    const plugin: Plugin = {
      name: 'throttled',
      types: ['general'],
      async run() {
        throw Object.assign(new Error('429 Too Many Requests'), { retryAfterMs: 90_000 });
      },
    };
    const h = await loopHarness(
      'retry-after',
      oneHost(1, 'types:\n  general: { hosts: [surtr], attempts: 3, backoff: { base: 10ms, max: 1s } }'),
      pluginSet(plugin),
    );
    const task = await h.store.add({ title: 'throttled' });
    const retry = await h.waitFor('task:retry', (e) => e.taskId === task.id);
    expect(retry.delayMs).toBe(90_000);
    expect(Date.parse(retry.nextTryAt) - Date.now()).toBeGreaterThan(80_000);
  });

  it('does not spend attempts on a host it cannot reach, probes it at once, and gives up only after many tries', async () => {
    const { HostUnreachableError } = await import('../../src/hosts/transport.js');
    let calls = 0;
    const plugin: Plugin = {
      name: 'far-away',
      types: ['general'],
      async run(task) {
        calls += 1;
        if (task.title === 'always' || calls <= 4)
          throw new Error('exec failed', { cause: new HostUnreachableError('surtr', 'connection refused') });
        return 'reached';
      },
    };
    const h = await loopHarness(
      'unreachable',
      oneHost(1, 'types:\n  general: { hosts: [surtr], attempts: 2, backoff: { base: 1ms, max: 5ms } }'),
      pluginSet(plugin),
    );
    const task = await h.store.add({ title: 'reachable later' });
    await h.waitFor('task:succeeded', (e) => e.taskId === task.id);
    const history = yggOf(h.store.get(task.id)!).history ?? [];
    expect(history.map((a) => a.outcome)).toEqual([...Array(4).fill('unreachable'), 'succeeded']);
    expect(h.events.filter((e) => e.event === 'host:unreachable')).toHaveLength(4);

    const hopeless = await h.store.add({ title: 'always' });
    const dead = await h.waitFor('task:dead', (e) => e.taskId === hopeless.id);
    expect(dead.error).toBe('exec failed');
    const ended = yggOf(h.store.get(hopeless.id)!).history ?? [];
    expect(ended.map((a) => a.outcome)).toEqual([...Array(9).fill('unreachable'), 'failed']);
    expect(h.store.get(hopeless.id)?.comments?.at(-1)?.text).toMatch(/could not reach a host 10 times/);
  });

  it("runs a task with CUDA_VISIBLE_DEVICES naming its slot's GPU, one with the memory it declares", async () => {
    const plugin: Plugin = {
      name: 'gpu-echo',
      types: ['general'],
      async run(_task, ctx) {
        const result = await ctx.exec(['sh', '-c', 'printf %s "$CUDA_VISIBLE_DEVICES"']);
        return `${result.stdout} ${(ctx.gpu ?? []).join(',')}`;
      },
    };
    const h = await loopHarness(
      'gpu-slots',
      `hosts:
  surtr: { transport: local, gpus: [0, 1], slots_per_gpu: 1, sandbox: { enabled: false } }
types:
  general: { hosts: [surtr], vram_gb: 4 }
`,
      pluginSet(plugin),
      // GPU 0 has no room left: the task must take GPU 1's slot although slot 0 is free.
      { gpuFits: (_host, gpus) => !gpus.includes(0) },
    );
    const task = await h.store.add({ title: 'on a GPU' });
    await h.waitFor('task:succeeded', (e) => e.taskId === task.id);
    expect(h.store.get(task.id)?.comments?.at(-1)?.text).toBe('1 1');
  });

  it("holds a type's max_concurrent across two loops on one store", async () => {
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const grader: Plugin = {
      name: 'grader',
      types: ['grader'],
      async run() {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return 'graded';
      },
    };
    const yaml = `hosts:
  surtr: { transport: local, slots: 3 }
types:
  grader: { hosts: [surtr], max_concurrent: 1 }
`;
    const a = await loopHarness('cap-two-loops', yaml, pluginSet(grader), { owner: 'loop-a' });
    // A second loop, in this process but with its own store object, as another process would be.
    await using storeB = await openStore({ path: a.storePath, cwd: a.dir });
    const busB = new EventBus();
    const loopB = new Loop({
      store: storeB,
      config: a.config,
      plugins: pluginSet(grader),
      bus: busB,
      owner: 'loop-b',
      transport: (host) => new LocalTransport(host.name),
    });
    await loopB.start();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++)
        ids.push((await a.store.add({ title: `grade ${i}`, labels: ['grader'] })).id);
      const nextSuccess = () =>
        new Promise<void>((resolve) => {
          const offs = [a.bus, busB].map((bus) =>
            bus.on('task:succeeded', () => {
              for (const off of offs) off();
              resolve();
            }),
          );
        });
      for (let done = 0; done < 4; done++) {
        await until(() => running === 1);
        // A window for both loops to look at the other ready graders: none may start.
        await new Promise((r) => setTimeout(r, 150));
        expect(running).toBe(1);
        const finished = nextSuccess();
        releases.shift()?.();
        await finished;
      }
      expect(most).toBe(1);
    } finally {
      for (const release of releases) release();
      await loopB.stop({ force: true });
    }
  });

  it('does not retry an error the handler marks as not retryable', async () => {
    const { NonRetryableError } = await import('../../src/errors.js');
    const plugin: Plugin = {
      name: 'hopeless',
      types: ['general'],
      async run() {
        throw new NonRetryableError('the input is malformed');
      },
    };
    const h = await loopHarness('nonretryable', oneHost(1), pluginSet(plugin));
    const task = await h.store.add({ title: 'bad input' });
    const dead = await h.waitFor('task:dead', (e) => e.taskId === task.id);
    expect(dead.attempts).toBe(1);
    expect(h.events.some((e) => e.event === 'task:retry')).toBe(false);
  });

  it('ends a handler that ignores its soft timeout at the hard timeout', async () => {
    const stubborn: Plugin = {
      name: 'stubborn',
      types: ['general'],
      run: () => new Promise(() => {}),
      attempts: 1,
    };
    const yaml = oneHost(
      1,
      'types:\n  general: { hosts: [surtr], timeout: 100ms, hard_timeout: 300ms, attempts: 1 }',
    );
    const h = await loopHarness('hard-timeout', yaml, pluginSet(stubborn));
    const task = await h.store.add({ title: 'never returns' });
    const failed = await h.waitFor('task:failed', (e) => e.taskId === task.id);
    expect(failed.reason).toBe('hard-timeout');
    await h.waitFor('task:dead', (e) => e.taskId === task.id);
  });

  it('aborts a running task closed by someone else and leaves the status they set', async () => {
    const g = gate();
    const h = await loopHarness('external-close', oneHost(1), pluginSet(g.plugin));
    const task = await h.store.add({ title: 'long job' });
    await h.waitFor('task:started', (e) => e.taskId === task.id);
    const t0 = Date.now();
    await h.store.update(task.id, (t) => ({
      ...t,
      status: 'closed',
      closed_at: new Date().toISOString(),
      close_reason: 'not needed',
    }));
    const cancelled = await h.waitFor('task:cancelled', (e) => e.taskId === task.id);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(cancelled.by).toBe('someone closed it');
    await h.loop.untilIdle();
    const stored = h.store.get(task.id)!;
    expect(stored.status).toBe('closed');
    expect(stored.close_reason).toBe('not needed');
  });
});

describe('operating the loop', () => {
  it('holds a task whose blocker was cancelled, and says which blocker', async () => {
    const g = gate();
    const h = await loopHarness('held', oneHost(1), pluginSet(g.plugin), { start: false });
    const blocker = await h.store.add({ title: 'blocker' });
    const waiting = await h.store.add({
      title: 'after blocker',
      dependencies: [{ depends_on_id: blocker.id, type: 'blocks' }],
    });
    const { cancelTask } = await import('../../src/dispatch/operator.js');
    await cancelTask(h.store, blocker.id, 'tester');
    await h.loop.start();
    const held = await h.waitFor('task:unroutable', (e) => e.taskId === waiting.id);
    expect(held.reason).toBe(`held by ${blocker.id}, which was cancelled`);
    await h.loop.untilIdle();
    expect(g.started).toEqual([]);
  });

  it('pauses and resumes claiming through the control file, and drains a host', async () => {
    const { updateControl } = await import('../../src/dispatch/control.js');
    const g = gate();
    const yaml = `
hosts:
  surtr: { transport: local, slots: 1 }
  fenrir: { transport: local, slots: 1 }
types:
  general: { hosts: [surtr, fenrir] }
`;
    const h = await loopHarness('pause-drain', yaml, pluginSet(g.plugin));
    await updateControl(h.store.runtimeDir, (s) => ({ ...s, paused: true }));
    await h.waitFor('queue:paused', (e) => e.paused);
    const first = await h.store.add({ title: 'while paused' });
    // Let the passes that the new task triggers run (each is queued with setImmediate).
    for (let turn = 0; turn < 5; turn += 1) await new Promise((r) => setImmediate(r));
    expect(g.started).toEqual([]);
    expect(h.store.get(first.id)?.status).toBe('open');
    await updateControl(h.store.runtimeDir, (s) => ({ ...s, paused: false, drained: ['surtr'] }));
    const started = await h.waitFor('task:started', (e) => e.taskId === first.id);
    // surtr is drained: the task goes to fenrir although surtr comes first.
    expect(started.host).toBe('fenrir');
    g.release(first.id);
    await h.loop.untilIdle();
  });

  it('keeps running with the old config when hosts.yaml becomes invalid, and applies a valid one', async () => {
    const g = gate();
    const h = await loopHarness('reload', oneHost(1), pluginSet(g.plugin));
    const { parseConfig } = await import('../../src/config/load.js');
    const bad = parseConfig('hosts:\n  surtr: { transport: local, slots: zero }\n', 'hosts.yaml');
    expect(bad.config).toBeUndefined();
    expect(bad.errors[0]?.line).toBe(2);
    const good = parseConfig(oneHost(2), 'hosts.yaml');
    h.loop.reconfigure(good.config!);
    expect(h.loop.slots.get('surtr')?.total).toBe(2);
    const ids = [(await h.store.add({ title: 'a' })).id, (await h.store.add({ title: 'b' })).id];
    await until(() => g.started.length === 2);
    for (const id of ids) g.release(id);
    await h.loop.untilIdle();
  });
});
