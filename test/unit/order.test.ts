import { describe, expect, it } from 'vitest';
import { RuntimeEstimator } from '../../src/schedule/estimates.js';
import { compareFifo, orderForMakespan, orderTasks, rankHostsByFinish } from '../../src/schedule/order.js';
import type { Task } from '../../src/store/task.js';

const task = (
  id: string,
  priority: number | undefined,
  created_at: string | undefined,
  labels: string[] = [],
): Task => ({
  id,
  title: id,
  ...(priority === undefined ? {} : { priority }),
  ...(created_at === undefined ? {} : { created_at }),
  labels,
});

const ids = (tasks: readonly Task[]) => tasks.map((t) => t.id);

describe('compareFifo', () => {
  it('orders by priority, then oldest first, then id', () => {
    const tasks = [
      task('bd-10', 2, '2025-01-01T10:00:00Z'),
      task('bd-2', 2, '2025-01-01T10:00:00Z'),
      task('late', 1, '2025-01-03T00:00:00Z'),
      task('old', 2, '2024-12-31T00:00:00Z'),
      task('urgent', 0, '2025-02-01T00:00:00Z'),
    ];
    expect(ids([...tasks].sort(compareFifo))).toEqual(['urgent', 'late', 'old', 'bd-2', 'bd-10']);
  });

  it('compares times across offsets and precisions as instants', () => {
    // 10:00-08:00 is 18:00Z: after 17:59:59.999999Z, before 18:00:01Z.
    const tasks = [
      task('c', 2, '2025-11-02T18:00:01Z'),
      task('b', 2, '2025-11-02T10:00:00.000000-08:00'),
      task('a', 2, '2025-11-02T17:59:59.999999Z'),
    ];
    expect(ids([...tasks].sort(compareFifo))).toEqual(['a', 'b', 'c']);
  });

  it('reads a missing priority as 0 and puts a missing or unreadable time last', () => {
    const tasks = [
      task('no-time', 2, undefined),
      task('garbled', 2, 'yesterday'),
      task('timed', 2, '2025-01-01T00:00:00Z'),
      task('no-priority', undefined, '2026-01-01T00:00:00Z'),
    ];
    expect(ids([...tasks].sort(compareFifo))).toEqual(['no-priority', 'timed', 'garbled', 'no-time']);
  });
});

describe('orderForMakespan', () => {
  const estimator = new RuntimeEstimator({
    reasoning: { estimateMs: 400, estimateMsByHost: {} },
    code: { estimateMs: 300, estimateMsByHost: {} },
    text: { estimateMs: 200, estimateMsByHost: {} },
  });
  const typeOf = (t: Task) => t.labels?.[0] ?? 'text';

  it('puts the longest expected first within a priority, FIFO among equals, priority still first', () => {
    const tasks = [
      task('t1', 2, '2025-01-01T00:00:01Z', ['text']),
      task('c1', 2, '2025-01-01T00:00:02Z', ['code']),
      task('r1', 2, '2025-01-01T00:00:03Z', ['reasoning']),
      task('t2', 1, '2025-01-01T00:00:04Z', ['text']),
      task('c2', 2, '2025-01-01T00:00:05Z', ['code']),
      task('r2', 2, '2025-01-01T00:00:00Z', ['reasoning']),
    ];
    expect(ids(orderForMakespan(tasks, estimator, typeOf))).toEqual(['t2', 'r2', 'r1', 'c1', 'c2', 't1']);
    expect(ids(tasks)).toEqual(['t1', 'c1', 'r1', 't2', 'c2', 'r2']);
  });

  it('follows what the estimator learns', () => {
    const learning = new RuntimeEstimator();
    learning.observe('slow', 'h', 900);
    learning.observe('quick', 'h', 10);
    const tasks = [
      task('q', 2, '2025-01-01T00:00:00Z', ['quick']),
      task('s', 2, '2025-01-01T00:00:01Z', ['slow']),
    ];
    expect(ids(orderTasks(tasks, 'makespan', learning, typeOf))).toEqual(['s', 'q']);
    expect(ids(orderTasks(tasks, 'fifo', learning, typeOf))).toEqual(['q', 's']);
  });
});

describe('rankHostsByFinish', () => {
  it('ranks by slot wait plus expected run on that host, keeping the given order on ties', () => {
    const estimator = new RuntimeEstimator({
      code: { estimateMsByHost: { fast: 100, slow: 500 }, estimateMs: 300 },
    });
    const hosts = [
      { host: 'slow', freeInMs: 0 },
      { host: 'fast', freeInMs: 300 },
      { host: 'other', freeInMs: 100 },
      { host: 'busy-fast', freeInMs: 300 },
    ];
    expect(rankHostsByFinish('code', hosts, estimator).map((h) => h.host)).toEqual([
      'fast',
      'other',
      'slow',
      'busy-fast',
    ]);
  });
});
