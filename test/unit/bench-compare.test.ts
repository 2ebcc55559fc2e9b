import { describe, expect, it } from 'vitest';
import { compareSamples, flatten, median } from '../../bench/compare.js';

describe('bench compare', () => {
  it('names every number of a bench’s JSON by its path, array items by mode or name', () => {
    const figures = new Map<string, number>();
    flatten(
      {
        unit_ms: 10,
        modes: [{ mode: 'legacy', makespan_units: 405, met: true, utilisation: { surtr: 0.9 } }],
        p: [3],
      },
      'seed30',
      figures,
    );
    expect(Object.fromEntries(figures)).toEqual({
      'seed30.unit_ms': 10,
      'seed30.modes.legacy.makespan_units': 405,
      'seed30.modes.legacy.utilisation.surtr': 0.9,
      'seed30.p.0': 3,
    });
  });

  it('takes medians per side, the ratio new/base, and leaves out figures that never vary', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const figures = compareSamples({
      base: new Map([
        ['latency.p50_ms', [10, 30, 20]],
        ['throughput.issues', [10_000, 10_000, 10_000]],
        ['x.zero', [0, 0, 1]],
      ]),
      new: new Map([
        ['latency.p50_ms', [22, 21, 90]],
        ['throughput.issues', [10_000, 10_000, 10_000]],
        ['x.zero', [0, 1, 1]],
      ]),
    });
    expect(figures).toEqual([
      { key: 'latency.p50_ms', base: 20, new: 22, ratio: 1.1 },
      { key: 'x.zero', base: 0, new: 1, ratio: null },
    ]);
  });
});
