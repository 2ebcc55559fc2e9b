import { describe, expect, it } from 'vitest';
import { FairOrder, type OrderSettings } from '../../src/schedule/fair.js';
import type { Task } from '../../src/store/task.js';

let clock = Date.parse('2026-01-01T00:00:00Z');
/** A ready task; each one is a second newer than the last. */
function task(id: string, by: string, priority = 2, extra: Partial<Task> = {}): Task {
  clock += 1000;
  return {
    id,
    title: id,
    status: 'open',
    priority,
    created_by: by,
    created_at: new Date(clock).toISOString(),
    ...extra,
  };
}
const fair: OrderSettings = { strategy: 'fair', weights: {}, boostLabel: 'boost' };
const ids = (tasks: readonly Task[]) => tasks.map((t) => t.id);

/** What the loop does: order, start the first `slots`, drop them from the ready list; repeat. */
function run(order: FairOrder, ready: Task[], settings: OrderSettings, slots = 1): string[] {
  const started: string[] = [];
  while (ready.length > 0) {
    const next = order.order(ready, settings).slice(0, slots);
    for (const t of next) {
      order.started(t.created_by!, settings.weights);
      started.push(t.id);
      ready.splice(ready.indexOf(t), 1);
    }
  }
  return started;
}

describe('fair ordering', () => {
  it('takes turns across submitters within a priority level, and priority still comes first', () => {
    const tasks = [
      task('a1', 'alice'),
      task('a2', 'alice'),
      task('a3', 'alice'),
      task('b1', 'bob'),
      task('b2', 'bob'),
      task('c1', 'carol'),
      task('urgent', 'alice', 0),
      task('later', 'bob', 3),
    ];
    // bd's ready order: priority, then oldest.
    const ready = [...tasks].sort((x, y) => (x.priority ?? 0) - (y.priority ?? 0));
    // alice's urgent task is her turn: at priority 2 bob and carol go before her.
    expect(ids(new FairOrder().order(ready, fair))).toEqual([
      'urgent',
      'b1',
      'c1',
      'a1',
      'b2',
      'a2',
      'a3',
      'later',
    ]);
    // Priority order leaves them as they were (oldest first within a level).
    expect(ids(new FairOrder().order(ready, { ...fair, strategy: 'priority' }))).toEqual([
      'urgent',
      'a1',
      'a2',
      'a3',
      'b1',
      'b2',
      'c1',
      'later',
    ]);
    // fifo ignores priority: oldest first.
    expect(ids(new FairOrder().order(ready, { ...fair, strategy: 'fifo' }))).toEqual(ids(tasks));
  });

  it('remembers who went last across passes, and a newcomer joins the turns without jumping them', () => {
    const order = new FairOrder();
    const flood = Array.from({ length: 6 }, (_, i) => task(`f${i}`, 'flood'));
    // The flood runs alone for three starts.
    const started = run(order, flood.slice(0, 3), fair);
    expect(started).toEqual(['f0', 'f1', 'f2']);
    const ready = [...flood.slice(3), task('x1', 'late'), task('x2', 'late')];
    // The latecomer goes first (it has waited), then they alternate; its history does not count.
    expect(run(order, ready, fair)).toEqual(['x1', 'f3', 'x2', 'f4', 'f5']);
  });

  it('gives a submitter of weight w w turns per round', () => {
    const settings = { ...fair, weights: { alice: 2 } };
    const ready = [
      ...Array.from({ length: 6 }, (_, i) => task(`a${i}`, 'alice')),
      ...Array.from({ length: 3 }, (_, i) => task(`b${i}`, 'bob')),
    ];
    expect(ids(new FairOrder().order(ready, settings))).toEqual([
      'a0',
      'a1',
      'b0',
      'a2',
      'a3',
      'b1',
      'a4',
      'a5',
      'b2',
    ]);
    // Real starts, one at a time, give the same turns.
    expect(run(new FairOrder(), ready, settings)).toEqual([
      'a0',
      'a1',
      'b0',
      'a2',
      'a3',
      'b1',
      'a4',
      'a5',
      'b2',
    ]);
  });

  it('keeps the turn of a submitter whose task could not start this pass', () => {
    const order = new FairOrder();
    const ready = [task('a1', 'alice'), task('b1', 'bob'), task('b2', 'bob')];
    expect(ids(order.order(ready, fair))).toEqual(['a1', 'b1', 'b2']);
    // a1's host was full: b1 started instead. alice is still first next time.
    order.started('bob');
    expect(ids(order.order([ready[0]!, ready[2]!], fair))).toEqual(['a1', 'b2']);
  });

  it('lets a boosted task go first within its level once', () => {
    const ready = [
      task('top', 'carol', 1),
      task('a1', 'alice'),
      task('b1', 'bob'),
      task('b2', 'bob', 2, { labels: ['boost'] }),
      task('spent', 'bob', 2, { labels: ['boost'], metadata: { ygg: { boosted: '2026-01-01T00:00:00Z' } } }),
    ];
    for (const strategy of ['fair', 'priority'] as const) {
      const out = ids(new FairOrder().order(ready, { ...fair, strategy }));
      // First in its level (priority 2), never above a more urgent level; a used boost is gone.
      expect(out.slice(0, 2)).toEqual(['top', 'b2']);
      expect(out.indexOf('spent')).toBeGreaterThan(out.indexOf('b1'));
    }
    expect(ids(new FairOrder().order(ready, { ...fair, strategy: 'fifo' }))[0]).toBe('b2');
  });
});
