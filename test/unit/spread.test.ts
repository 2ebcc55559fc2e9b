import { describe, expect, it } from 'vitest';
import { idHash, loopShare, RecentOwners, shareFirst, slotsInShareOrder } from '../../src/schedule/spread.js';

const tasks = (priorities: number[]) => priorities.map((priority, i) => ({ id: `bd-${i}`, priority }));
const byPriority = (t: { priority: number }) => t.priority;
const byId = (t: { id: string }) => t.id;

describe('sharing the work that can start now among loops', () => {
  it('places a loop among the owners of live leases, the same in every loop', () => {
    expect(loopShare('b', [])).toBeUndefined();
    expect(loopShare('b', ['b'])).toBeUndefined();
    expect(loopShare('b', ['c', 'a'])).toEqual({ index: 1, count: 3 });
    expect(loopShare('c', ['b', 'a'])).toEqual({ index: 2, count: 3 });
  });

  it('keeps a loop that held leases lately in the share until its time runs out or it is gone', () => {
    const owners = new RecentOwners(5000);
    expect([...owners.see(['a', 'b'], 1000)].sort()).toEqual(['a', 'b']);
    // Between two batches `b` holds no lease: it keeps its place, and so does every share.
    expect([...owners.see(['a'], 3000)].sort()).toEqual(['a', 'b']);
    expect([...owners.see(['a'], 6001)]).toEqual(['a']);
    owners.see(['c'], 7000);
    expect([...owners.see([], 7500, (owner) => owner === 'c')]).toEqual(['a']);
  });

  it('puts its own tasks first within each priority inside the window, keeps order, and leaves the rest', () => {
    const ordered = tasks([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2]);
    const share = { index: 1, count: 2 };
    const mine = (t: { id: string }) => idHash(t.id) % 2 === 1;
    const out = shareFirst(ordered, 10, byPriority, byId, share);
    expect(out.map((t) => t.priority)).toEqual(ordered.map((t) => t.priority));
    expect(out.slice(10)).toEqual(ordered.slice(10));
    for (const priority of [0, 1]) {
      const run = ordered.filter((t) => t.priority === priority);
      const got = out.filter((t) => t.priority === priority);
      expect(got).toEqual([...run.filter(mine), ...run.filter((t) => !mine(t))]);
    }
  });

  it('gives every task to exactly one loop, so loops that agree on the list take different tasks', () => {
    const ordered = tasks(Array(64).fill(2));
    const firsts = [0, 1, 2, 3].map((index) => {
      const out = shareFirst(ordered, 64, byPriority, byId, { index, count: 4 });
      return out.filter((t) => idHash(t.id) % 4 === index).map((t) => t.id);
    });
    const all = firsts.flat();
    expect(new Set(all).size).toBe(64);
    expect(firsts.every((own) => own.length > 0)).toBe(true);
  });

  it('orders free slots: its own lowest first, then the rest highest first', () => {
    expect(slotsInShareOrder([0, 1, 2, 3, 4, 5, 6, 7], { index: 0, count: 4 })).toEqual([
      0, 4, 7, 6, 5, 3, 2, 1,
    ]);
    expect(slotsInShareOrder([2, 3], { index: 1, count: 2 })).toEqual([3, 2]);
    expect(slotsInShareOrder([], { index: 0, count: 2 })).toEqual([]);
  });
});
