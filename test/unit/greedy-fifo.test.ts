import { describe, expect, it } from 'vitest';
import { greedyFifoMakespan } from '../../bench/lib/greedy-fifo.js';
import { loadConfig } from '../../src/config/load.js';
import { typeConfigFor } from '../../src/config/type-rules.js';
import { seed30Shape } from '../../src/dispatch/workloads.js';

describe('greedy FIFO makespan (the seed30 spill target)', () => {
  it('starts the oldest task on the first free eligible slot, in preference order', () => {
    const hostsOf = (type: string) => (type === 'any' ? ['a', 'b'] : ['a']);
    // a: 0-5, b: 0-5, then the third waits for a slot: 5-10.
    expect(
      greedyFifoMakespan(
        [5, 5, 5].map((units) => ({ type: 'any', units })),
        hostsOf,
        { a: 1, b: 1 },
      ),
    ).toBe(10);
    // Only a: three in a row, b never used.
    expect(
      greedyFifoMakespan(
        [5, 5, 5].map((units) => ({ type: 'a-only', units })),
        hostsOf,
        { a: 1, b: 1 },
      ),
    ).toBe(15);
    // FIFO, not longest first: the long task last ends late.
    const fifo = [1, 1, 8].map((units) => ({ type: 'any', units }));
    expect(greedyFifoMakespan(fifo, hostsOf, { a: 1, b: 1 })).toBe(9);
  });

  it('allows 150 units for seed30 on the shipped spill hosts (1,500 ms at 10 ms units)', async () => {
    const { config } = await loadConfig(new URL('../../examples/hosts.spill.yaml', import.meta.url).pathname);
    const tasks = Array.from({ length: 10 }, () =>
      seed30Shape.map((s) => ({ type: s.type, units: s.units })),
    ).flat();
    const slots = Object.fromEntries(config!.hosts.map((h) => [h.name, h.slots]));
    expect(greedyFifoMakespan(tasks, (type) => typeConfigFor(config!, type).hosts, slots)).toBe(150);
  });
});
