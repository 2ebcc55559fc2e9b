import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { mergeLoopViews } from '../../src/observe/merge-snapshots.js';
import { emptySnapshot, type StatusSnapshot } from '../../src/observe/snapshot.js';

const machine = hostname();

function view(pid: number, fill: (s: StatusSnapshot) => void) {
  const snapshot = emptySnapshot({ running: true, pid, version: 't', state: 'running' });
  snapshot.hosts = [
    {
      name: 'surtr',
      state: 'up',
      slots: { used: 0, total: 2, effective: 2 },
      draining: false,
      gpus: [],
      protections: [],
    },
  ];
  fill(snapshot);
  return { record: { pid, machine, startedAt: new Date(pid).toISOString() }, snapshot };
}

const run = (id: string, pid: number) => ({
  id,
  title: id,
  type: 'general',
  host: 'surtr',
  attempt: 1,
  startedAt: new Date(pid).toISOString(),
  elapsedMs: 1,
});

describe('several loops’ views as one', () => {
  it('sums slots in use, names the loop of each running task and reason, and lists every loop', () => {
    const a = view(1, (s) => {
      s.hosts[0]!.slots.used = 1;
      s.running = [run('t1', 1)];
      s.unroutable = [
        { id: 't2', title: 't2', type: 'general', reason: 'no handler plugin named "x" is loaded' },
      ];
      s.throughput.done = 3;
    });
    const b = view(2, (s) => {
      s.hosts[0]!.slots.used = 1;
      s.running = [run('t2', 2)];
      s.unroutable = [{ id: 't3', title: 't3', type: 'orphan', reason: 'no host is eligible' }];
      s.throughput.done = 2;
    });
    const unanswered = { record: { pid: 3, machine, startedAt: new Date(3).toISOString() } };
    const merged = mergeLoopViews([a, b, unanswered])!;
    expect(merged.hosts[0]!.slots.used).toBe(2);
    expect(merged.running.map((r) => [r.id, r.loop])).toEqual([
      ['t1', 'pid 1'],
      ['t2', 'pid 2'],
    ]);
    // t2 runs in loop 2, whatever loop 1 (without its handler) said of it.
    expect(merged.unroutable.map((u) => [u.id, u.loop])).toEqual([['t3', 'pid 2']]);
    expect(merged.throughput.done).toBe(5);
    expect(merged.loops?.map((l) => [l.name, l.view, l.running])).toEqual([
      ['pid 1', 'live', 1],
      ['pid 2', 'live', 1],
      ['pid 3', 'no-status', undefined],
    ]);
  });

  it('lists the tasks waiting in both loops by priority, so a P0 one loop saw last comes first', () => {
    const wait = (id: string, priority: number) => ({
      id,
      title: id,
      type: 'general',
      reason: 'waiting for a free slot (surtr full)',
      kind: 'slot',
      priority,
    });
    const a = view(1, (s) => {
      s.waiting = [wait('t1', 2), wait('t2', 2), wait('t4', 0)];
    });
    const b = view(2, (s) => {
      s.waiting = [wait('t3', 1)];
    });
    const merged = mergeLoopViews([a, b])!;
    expect(merged.waiting?.map((w) => w.id)).toEqual(['t4', 't3', 't1', 't2']);
  });

  it('leaves a single loop’s view as it is, without loop names', () => {
    const a = view(1, (s) => {
      s.running = [run('t1', 1)];
    });
    const merged = mergeLoopViews([a])!;
    expect(merged.running[0]!.loop).toBeUndefined();
    expect(merged.loops).toBeUndefined();
  });
});
