import { describe, expect, it } from 'vitest';
import { simulateLegacyDispatcher } from '../../src/schedule/legacy-dispatcher.js';

/** seed30 as the Python benchmark ran it: 1 unit = 1 ms here, created interleaved. */
const seed30 = Array.from({ length: 10 }, () => [
  { type: 'code', ms: 30 },
  { type: 'text', ms: 20 },
  { type: 'reasoning', ms: 40 },
]).flat();
const shipped = {
  hostsOf: (type: string) => ({ code: ['skadi'], text: ['fenrir'], reasoning: ['surtr'] })[type] ?? [],
  slots: { surtr: 2, fenrir: 3, skadi: 2 },
  pollMs: 2,
};

describe('simulateLegacyDispatcher', () => {
  it('seed30 in legacy mode takes its published 400 units: the reasoning tasks one after another', () => {
    const sim = simulateLegacyDispatcher(seed30, { ...shipped, onePerType: true });
    expect(sim.makespanMs).toBe(400);
    expect(sim.runs).toHaveLength(30);
    expect(sim.unrun).toEqual([]);
    const reasoning = sim.runs.filter((r) => r.host === 'surtr').sort((a, b) => a.start - b.start);
    expect(reasoning.map((r) => r.start)).toEqual(Array.from({ length: 10 }, (_, i) => i * 40));
  });

  it('seed30 under per-host semaphores only takes its published 200 units', () => {
    expect(simulateLegacyDispatcher(seed30, { ...shipped, onePerType: false }).makespanMs).toBe(200);
  });

  it('a slot freed between two polls stays idle until the next poll', () => {
    const tasks = [1, 2, 3].map(() => ({ type: 'code', ms: 3 }));
    const sim = simulateLegacyDispatcher(tasks, { ...shipped, pollMs: 2, onePerType: true });
    expect(sim.runs.map((r) => r.start)).toEqual([0, 4, 8]);
    expect(sim.makespanMs).toBe(11);
  });

  it('sends a type to its first host only, under that host’s slots', () => {
    const tasks = [1, 2, 3, 4].map(() => ({ type: 'x', ms: 10 }));
    const sim = simulateLegacyDispatcher(tasks, {
      hostsOf: () => ['small', 'big'],
      slots: { small: 1, big: 8 },
      pollMs: 5,
      onePerType: false,
    });
    expect(new Set(sim.runs.map((r) => r.host))).toEqual(new Set(['small']));
    expect(sim.makespanMs).toBe(40);
  });

  it('counts the tasks it could never start instead of waiting for them forever', () => {
    const sim = simulateLegacyDispatcher(
      [
        { type: 'code', ms: 5 },
        { type: 'nowhere', ms: 5 },
      ],
      { ...shipped, onePerType: true },
    );
    expect(sim.unrun).toEqual([1]);
    expect(sim.makespanMs).toBe(5);
    expect(() => simulateLegacyDispatcher([], { ...shipped, pollMs: 0, onePerType: true })).toThrow(
      RangeError,
    );
  });
});
