import { describe, expect, it } from 'vitest';
import { pickAtRandom, spreadWindow } from '../../src/schedule/spread.js';

/** A seeded generator, so each case is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const tasks = (spec: string) => spec.split(' ').map((p, i) => ({ id: `t${i}`, priority: Number(p) }));

describe('spreading the tasks that can start now among loops', () => {
  it('reorders only within the window, and never across a change of priority', () => {
    const ordered = tasks('0 0 0 1 1 1 1 2 2');
    for (let seed = 1; seed <= 50; seed += 1) {
      const out = spreadWindow(ordered, 6, (t) => t.priority, seeded(seed));
      // The same tasks, priorities still in order, the window's set unchanged, the rest in place.
      expect(out.map((t) => t.priority)).toEqual(ordered.map((t) => t.priority));
      expect(new Set(out.slice(0, 6).map((t) => t.id))).toEqual(
        new Set(ordered.slice(0, 6).map((t) => t.id)),
      );
      expect(out.slice(6)).toEqual(ordered.slice(6));
    }
  });

  it('gives different loops different first choices', () => {
    const ordered = tasks(Array(64).fill('2').join(' '));
    const firsts = new Set(
      [1, 2, 3, 4].map((seed) => spreadWindow(ordered, 64, (t) => t.priority, seeded(seed))[0]?.id),
    );
    expect(firsts.size).toBeGreaterThan(1);
  });

  it('leaves the order alone with a window of 0 or 1, and takes a window past the end', () => {
    const ordered = tasks('1 1 1');
    expect(
      spreadWindow(
        ordered,
        0,
        (t) => t.priority,
        () => 0,
      ),
    ).toEqual(ordered);
    expect(
      spreadWindow(
        ordered,
        1,
        (t) => t.priority,
        () => 0,
      ),
    ).toEqual(ordered);
    expect(
      spreadWindow(
        ordered,
        10,
        (t) => t.priority,
        () => 0,
      )
        .map((t) => t.id)
        .sort(),
    ).toEqual(['t0', 't1', 't2']);
  });

  it('picks one of the candidates, or nothing from none', () => {
    expect(pickAtRandom([], () => 0.5)).toBeUndefined();
    expect(pickAtRandom(['a', 'b', 'c'], () => 0)).toBe('a');
    expect(pickAtRandom(['a', 'b', 'c'], () => 0.999)).toBe('c');
  });
});
