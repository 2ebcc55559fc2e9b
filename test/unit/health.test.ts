import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../src/hosts/health.js';
import type { Timers } from '../../src/hosts/timers.js';
import { EventBus, type YggEvents } from '../../src/observe/events.js';

/** Time moves only when the test says so. */
class ManualTimers implements Timers {
  time = 0;
  #next = 1;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.#next++;
    this.#pending.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.#pending.delete(handle as number);
  };
  /** Advances the clock, running what falls due (and letting promises settle between). */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      const due = [...this.#pending].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#pending.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
    await new Promise((r) => setImmediate(r));
  }
}

function record(bus: EventBus) {
  const events: Array<[string, unknown]> = [];
  bus.on('host:up', (p: YggEvents['host:up']) => events.push(['up', p]));
  bus.on('host:down', (p: YggEvents['host:down']) => events.push(['down', p]));
  return events;
}

describe('HealthMonitor', () => {
  it('marks a host down after N failures in a row and up again on success', async () => {
    const timers = new ManualTimers();
    const bus = new EventBus();
    const events = record(bus);
    let healthy = true;
    let probes = 0;
    const monitor = new HealthMonitor(
      [
        {
          name: 'surtr',
          intervalMs: 1000,
          failures: 3,
          probe: async () => {
            probes += 1;
            if (!healthy) throw new Error('connection refused');
            return { latencyMs: 4 };
          },
        },
      ],
      { bus, timers },
    );
    monitor.start();
    await timers.advance(0);
    expect(events).toEqual([['up', { host: 'surtr' }]]);
    expect(monitor.health('surtr')).toMatchObject({ state: 'up', latencyMs: 4 });

    healthy = false;
    await timers.advance(2000);
    expect(monitor.health('surtr')).toMatchObject({ state: 'up', consecutiveFailures: 2 });
    await timers.advance(1000);
    expect(monitor.health('surtr')).toMatchObject({
      state: 'down',
      consecutiveFailures: 3,
      lastError: 'connection refused',
    });
    expect(events.at(-1)).toEqual(['down', { host: 'surtr', error: 'connection refused' }]);
    await timers.advance(5000);
    expect(events.filter(([e]) => e === 'down')).toHaveLength(1);

    healthy = true;
    await timers.advance(1000);
    expect(events.at(-1)).toEqual(['up', { host: 'surtr' }]);
    expect(probes).toBe(10);
    await monitor.stop();
    await timers.advance(10_000);
    expect(probes).toBe(10);
  });

  it('counts a probe that never answers as a failure, and never throws to its caller', async () => {
    const timers = new ManualTimers();
    const bus = new EventBus();
    const events = record(bus);
    const monitor = new HealthMonitor(
      [{ name: 'fenrir', intervalMs: 1000, failures: 1, probe: () => new Promise(() => undefined) }],
      { bus, timers, probeTimeoutMs: 500 },
    );
    bus.on('host:down', () => {
      throw new Error('a listener that throws');
    });
    monitor.start();
    await timers.advance(500);
    expect(monitor.health('fenrir')).toMatchObject({ state: 'down', lastError: 'no answer within 500 ms' });
    expect(events).toEqual([['down', { host: 'fenrir', error: 'no answer within 500 ms' }]]);
    await monitor.stop();
    await monitor.stop();
  });
  it('marks a host never seen up down on its first failed probe', async () => {
    const timers = new ManualTimers();
    const bus = new EventBus();
    const events = record(bus);
    const monitor = new HealthMonitor(
      [
        {
          name: 'skadi',
          intervalMs: 1000,
          failures: 3,
          probe: async () => {
            throw new Error('connection refused');
          },
        },
      ],
      { bus, timers },
    );
    monitor.start();
    await timers.advance(0);
    expect(monitor.health('skadi')).toMatchObject({ state: 'down', consecutiveFailures: 1 });
    expect(events).toEqual([['down', { host: 'skadi', error: 'connection refused' }]]);
    await monitor.stop();
  });
});
