import { describe, expect, it } from 'vitest';
import { makespanLowerBound } from '../../bench/lib/lower-bound.js';

const seed30 = [
  ...Array(10).fill({ type: 'code-generation', units: 30 }),
  ...Array(10).fill({ type: 'text-processing', units: 20 }),
  ...Array(10).fill({ type: 'reasoning', units: 40 }),
];
const slots = { 'skadi-code': 2, 'fenrir-chat': 3, 'surtr-reasoning': 2 };
const all = Object.keys(slots);

describe('the makespan lower bound of seed30', () => {
  it('is 400 with one task per type at a time: the reasoning tasks in a row', () => {
    const bound = makespanLowerBound(seed30, {}, slots, true);
    expect(bound.units).toBe(400);
    expect(bound.reason).toMatch(/reasoning runs one task at a time/);
  });

  it('is 200 with each type on its own host: reasoning on the 2 slots of surtr', () => {
    const fixed = {
      'code-generation': ['skadi-code'],
      'text-processing': ['fenrir-chat'],
      reasoning: ['surtr-reasoning'],
    };
    const bound = makespanLowerBound(seed30, fixed, slots);
    expect(bound.units).toBe(200);
    expect(bound.reason).toBe('reasoning: work 400 over the 2 slots of surtr-reasoning');
  });

  it('is 900/7 when every host takes every type', () => {
    const spill = { 'code-generation': all, 'text-processing': all, reasoning: all };
    expect(makespanLowerBound(seed30, spill, slots).units).toBeCloseTo(900 / 7, 9);
  });
});
