/**
 * A StatusSource for tests of the status server and the monitor client, where the loop is not
 * the thing under test: a fixed snapshot that tests edit, and cancel/retry calls recorded.
 */
import { YggError } from '../../src/errors.js';
import { EventBus } from '../../src/observe/events.js';
import { emptySnapshot, type StatusSnapshot, type StatusSource } from '../../src/observe/snapshot.js';

export interface FakeStatusSource extends StatusSource {
  state: StatusSnapshot;
  calls: string[];
}

export function fakeStatusSource(): FakeStatusSource {
  const state = emptySnapshot({ running: true, pid: process.pid, version: 'test', state: 'running' });
  state.hosts = [
    {
      name: 'surtr',
      state: 'up',
      slots: { used: 1, total: 2, effective: 2 },
      draining: false,
      gpus: [],
      protections: [],
    },
  ];
  state.running = [
    {
      id: 'bd-run',
      title: 'a running task',
      type: 'general',
      host: 'surtr',
      attempt: 1,
      startedAt: new Date().toISOString(),
      elapsedMs: 1200,
    },
  ];
  state.deadLetters = {
    count: 1,
    tasks: [
      {
        id: 'bd-dead',
        title: 'a dead task',
        type: 'general',
        attempts: 3,
        error: 'boom',
        at: new Date().toISOString(),
      },
    ],
  };
  const calls: string[] = [];
  return {
    bus: new EventBus(),
    state,
    calls,
    snapshot: () => structuredClone(state),
    async cancel(id) {
      if (!state.running.some((r) => r.id === id)) throw new YggError(`no running task ${id}`);
      calls.push(`cancel ${id}`);
    },
    async retry(id) {
      if (!state.deadLetters.tasks.some((d) => d.id === id)) throw new YggError(`task ${id} is not dead`);
      calls.push(`retry ${id}`);
    },
  };
}
