import { describe, expect, it } from 'vitest';
import { loopStatusSource } from '../../src/app/status-source.js';
import { EventBus } from '../../src/observe/events.js';
import { createMetrics } from '../../src/observe/metrics.js';
import { startStatusServer } from '../../src/observe/server.js';
import type { Plugin } from '../../src/plugins/api.js';
import { fakeStatusSource } from '../helpers/fake-status-source.js';
import { loopHarness, pluginSet } from '../helpers/loop-harness.js';
import { parsePrometheus } from '../helpers/prometheus.js';

describe('metrics', () => {
  it('after a scripted run, /metrics parses as Prometheus text and the counters equal what happened', async () => {
    const source = fakeStatusSource();
    source.state.queue = {
      total: 4,
      retrying: 0,
      depth: [
        { type: 'code-generation', priority: 1, count: 3 },
        { type: 'summarize', priority: 2, count: 1 },
      ],
    };
    const bus = source.bus;
    const metrics = createMetrics({ bus, snapshot: () => source.snapshot() });
    await using server = await startStatusServer({ source, metrics, port: 0 });

    // The script: 3 tasks; a succeeds; b fails, retries, succeeds; c fails twice and dies; d is cancelled.
    bus.emit('host:up', { host: 'surtr' });
    bus.emit('host:down', { host: 'fenrir', error: 'probe failed' });
    bus.emit('slots:changed', { host: 'surtr', used: 2, total: 4, effective: 3 });
    bus.emit('gpu:sample', {
      host: 'surtr',
      gpus: [{ index: 0, utilization: 0.5, memoryUsedBytes: 2 ** 30 }, { index: 1 }],
    });
    const run = (taskId: string, type: string, attempt: number, waitMs: number) => {
      bus.emit('task:claimed', { taskId, type, host: 'surtr', attempt, waitMs });
      bus.emit('task:started', { taskId, type, host: 'surtr', attempt, handler: 'simulate' });
    };
    run('a', 'code-generation', 1, 100);
    bus.emit('task:succeeded', {
      taskId: 'a',
      type: 'code-generation',
      host: 'surtr',
      attempt: 1,
      runMs: 2000,
    });
    run('b', 'summarize', 1, 300);
    bus.emit('task:failed', {
      taskId: 'b',
      type: 'summarize',
      host: 'surtr',
      attempt: 1,
      runMs: 500,
      error: 'x',
      reason: 'error',
    });
    bus.emit('task:retry', {
      taskId: 'b',
      type: 'summarize',
      attempt: 1,
      nextTryAt: new Date().toISOString(),
      delayMs: 10,
    });
    run('b', 'summarize', 2, 20);
    bus.emit('task:succeeded', { taskId: 'b', type: 'summarize', host: 'surtr', attempt: 2, runMs: 700 });
    for (const attempt of [1, 2]) {
      run('c', 'summarize', attempt, 10);
      bus.emit('task:failed', {
        taskId: 'c',
        type: 'summarize',
        host: 'surtr',
        attempt,
        runMs: 100,
        error: 'boom',
        reason: 'error',
      });
    }
    bus.emit('task:retry', {
      taskId: 'c',
      type: 'summarize',
      attempt: 1,
      nextTryAt: new Date().toISOString(),
      delayMs: 10,
    });
    bus.emit('task:dead', { taskId: 'c', type: 'summarize', attempts: 2, error: 'boom' });
    run('d', 'code-generation', 1, 50);
    bus.emit('task:cancelled', { taskId: 'd', type: 'code-generation', host: 'surtr', attempt: 1, by: 'me' });
    bus.emit('trajectory:stale', { count: 3, policyVersion: 2, total: 3 });

    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const m = parsePrometheus(await response.text());

    expect(m.value('ygg_tasks_total', { outcome: 'succeeded' })).toBe(2);
    expect(m.value('ygg_tasks_total', { outcome: 'failed' })).toBe(3);
    expect(m.value('ygg_tasks_total', { outcome: 'dead' })).toBe(1);
    expect(m.value('ygg_tasks_total', { outcome: 'cancelled' })).toBe(1);
    expect(m.value('ygg_tasks_total', { outcome: 'lost' })).toBe(0);
    expect(m.value('ygg_retries_total', { type: 'summarize' })).toBe(2);
    expect(m.value('ygg_task_wait_seconds_count')).toBe(6);
    expect(m.value('ygg_task_wait_seconds_sum')).toBeCloseTo(0.49, 5);
    expect(m.value('ygg_task_run_seconds_count', { type: 'summarize', host: 'surtr' })).toBe(4);
    expect(m.value('ygg_task_run_seconds_count', { type: 'code-generation', host: 'surtr' })).toBe(1);
    expect(
      m.value('ygg_task_run_seconds_bucket', { type: 'code-generation', host: 'surtr', le: '2.5' }),
    ).toBe(1);
    expect(m.value('ygg_task_run_seconds_bucket', { type: 'code-generation', host: 'surtr', le: '1' })).toBe(
      0,
    );
    expect(m.value('ygg_queue_depth', { type: 'code-generation', priority: '1' })).toBe(3);
    expect(m.value('ygg_queue_depth', { type: 'summarize', priority: '2' })).toBe(1);
    expect(m.value('ygg_dead_letters')).toBe(1);
    expect(m.value('ygg_slots_in_use', { host: 'surtr' })).toBe(2);
    expect(m.value('ygg_slots_total', { host: 'surtr' })).toBe(3);
    expect(m.value('ygg_host_up', { host: 'surtr' })).toBe(1);
    expect(m.value('ygg_host_up', { host: 'fenrir' })).toBe(0);
    expect(m.value('ygg_gpu_utilization_ratio', { host: 'surtr', gpu: '0' })).toBe(0.5);
    expect(m.value('ygg_gpu_memory_used_bytes', { host: 'surtr', gpu: '0' })).toBe(2 ** 30);
    expect(m.value('ygg_gpu_utilization_ratio', { host: 'surtr', gpu: '1' })).toBeUndefined(); // unknown stays absent
    expect(m.value('ygg_stale_trajectories_total')).toBe(3);
    expect(m.types.get('ygg_task_wait_seconds')).toBe('histogram');
    expect(m.types.get('ygg_tasks_total')).toBe('counter');
    expect(m.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.samples.some((s) => s.name === 'nodejs_heap_size_used_bytes')).toBe(true);

    // The queue gauge follows the store at scrape time: a drained queue shows no stale series.
    source.state.queue = { total: 0, retrying: 0, depth: [] };
    const after = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    expect(after.value('ygg_queue_depth', { type: 'code-generation', priority: '1' })).toBeUndefined();
  });

  it('a listener that throws disturbs neither the emitter nor the metrics', async () => {
    const bus = new EventBus();
    const errors: string[] = [];
    bus.on('listener:error', ({ error }) => errors.push(error));
    bus.on('task:succeeded', () => {
      throw new Error('a broken listener');
    });
    const metrics = createMetrics({ bus, defaultMetrics: false });
    bus.on('task:succeeded', async () => {
      throw new Error('a broken async listener');
    });
    for (let i = 0; i < 3; i++)
      bus.emit('task:succeeded', { taskId: `t${i}`, type: 'general', host: 'surtr', attempt: 1, runMs: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    const m = parsePrometheus(await metrics.text());
    expect(m.value('ygg_tasks_total', { outcome: 'succeeded' })).toBe(3);
    expect(errors.filter((e) => e === 'a broken listener')).toHaveLength(3);
    expect(errors.filter((e) => e === 'a broken async listener')).toHaveLength(3);
    metrics[Symbol.dispose]();
  });
  it('after a real loop run (with a listener that throws), the counters equal what happened to the tasks', async () => {
    let bTries = 0;
    const plugin: Plugin = {
      name: 'scripted',
      types: ['general'],
      async run(task, ctx) {
        if (task.title === 'fails once' && ++bTries === 1) throw new Error('first try');
        if (task.title === 'always fails') throw new Error('boom');
        if (task.title === 'runs until cancelled')
          await new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true }),
          );
        return 'ok';
      },
    };
    const h = await loopHarness(
      'metrics-loop',
      `hosts:
  surtr: { transport: local, slots: 4 }
types:
  general: { hosts: [surtr], attempts: 2, backoff: { base: 1ms, max: 5ms } }
`,
      pluginSet(plugin),
      { start: false },
    );
    using source = loopStatusSource(h.loop, { version: 'test' });
    using metrics = createMetrics({ bus: h.bus, snapshot: () => source.snapshot() });
    await using server = await startStatusServer({ source, metrics, port: 0 });
    // A listener that throws on every start cannot disturb the loop.
    h.bus.on('task:started', () => {
      throw new Error('a listener with a bug');
    });
    await h.loop.start();

    const ok = await h.store.add({ title: 'succeeds' });
    const flaky = await h.store.add({ title: 'fails once' });
    const hopeless = await h.store.add({ title: 'always fails' });
    const cancelled = await h.store.add({ title: 'runs until cancelled' });
    await h.waitFor('task:started', (e) => e.taskId === cancelled.id);
    await h.store.update(cancelled.id, (t) => ({ ...t, status: 'closed', close_reason: 'not needed' }));
    await Promise.all([
      h.waitFor('task:succeeded', (e) => e.taskId === ok.id),
      h.waitFor('task:succeeded', (e) => e.taskId === flaky.id),
      h.waitFor('task:dead', (e) => e.taskId === hopeless.id),
      h.waitFor('task:cancelled', (e) => e.taskId === cancelled.id),
    ]);

    const m = parsePrometheus(await (await fetch(`${server.url}/metrics`)).text());
    expect(m.value('ygg_tasks_total', { outcome: 'succeeded' })).toBe(2);
    expect(m.value('ygg_tasks_total', { outcome: 'failed' })).toBe(3);
    expect(m.value('ygg_tasks_total', { outcome: 'dead' })).toBe(1);
    expect(m.value('ygg_tasks_total', { outcome: 'cancelled' })).toBe(1);
    expect(m.value('ygg_retries_total', { type: 'general' })).toBe(2);
    expect(m.value('ygg_dead_letters')).toBe(1);
    expect(m.value('ygg_task_wait_seconds_count')).toBe(6);
    // Run times of attempts that succeeded or failed; the cancelled one has none.
    expect(m.value('ygg_task_run_seconds_count', { type: 'general', host: 'surtr' })).toBe(5);
    expect(m.value('ygg_slots_total', { host: 'surtr' })).toBe(4);
    expect(m.value('ygg_slots_in_use', { host: 'surtr' })).toBe(0);
    expect(h.events.filter((e) => e.event === 'listener:error')).toHaveLength(6);
  });
});
