import { describe, expect, it } from 'vitest';
import type { HostConfig, TypeConfig } from '../../src/config/types.js';
import { type HostsView, routeTask } from '../../src/dispatch/routing.js';
import { HostSlots } from '../../src/schedule/slots.js';
import type { LoopShare } from '../../src/schedule/spread.js';
import type { Task } from '../../src/store/task.js';

/** Two hosts of 4 slots, first-fit (`a` before `b`), seen by a loop with `share` of the slots. */
function view(held: Record<string, number[]>, share?: LoopShare, usedHere: Record<string, number> = {}) {
  const slots = new Map(
    ['a', 'b'].map((name) => {
      const host = new HostSlots({ name, slots: 4 } as HostConfig);
      for (let i = 0; i < (usedHere[name] ?? 0); i++) host.tryAcquire(undefined, held[name], share);
      return [name, host] as const;
    }),
  );
  const hosts: HostsView = {
    slots,
    heldElsewhere: new Map(Object.entries(held)),
    drained: [],
    up: () => true,
    ...(share ? { share } : {}),
  };
  return hosts;
}

const type = { name: 'general', hosts: ['a', 'b'], estimateMsByHost: {} } as unknown as TypeConfig;
const task = (history: Task['metadata'] = {}) => ({ id: 'bd-1', title: 't', metadata: history }) as Task;
const failedOn = (host: string) =>
  task({ ygg: { history: [{ attempt: 1, host, start: '2026-12-04T08:00:00Z', outcome: 'failed' }] } });

describe('routing a loop that shares the store with others', () => {
  // Loop 0 of 2 owns slots 0 and 2 of each host; loop 1 owns 1 and 3.
  const share = { index: 0, count: 2 };

  it('takes a later host with one of its own slots free before another loop’s free slot on the first', () => {
    // On `a` loop 1 holds 1; this loop runs on 0 and 2 (its own): 3 is free, but loop 1's.
    expect(routeTask(view({ a: [1] }, share, { a: 2 }), task(), 'general', type)).toEqual({
      kind: 'assign',
      host: 'b',
    });
  });

  it('takes another loop’s free slot when no eligible host has one of its own', () => {
    expect(routeTask(view({ a: [1], b: [1] }, share, { a: 2, b: 2 }), task(), 'general', type)).toEqual({
      kind: 'assign',
      host: 'a',
    });
  });

  it('keeps first-fit when it has its own slot on the first host, and alone (no share)', () => {
    expect(routeTask(view({ a: [1] }, share), task(), 'general', type)).toEqual({
      kind: 'assign',
      host: 'a',
    });
    expect(routeTask(view({ a: [1] }, undefined, { a: 2 }), task(), 'general', type)).toEqual({
      kind: 'assign',
      host: 'a',
    });
  });

  it('routes a type that declares GPU memory on any free slot, as the GPUs decide which fits', () => {
    const gpuType = { ...type, vramGb: 8 } as TypeConfig;
    expect(routeTask(view({ a: [1] }, share, { a: 2 }), task(), 'general', gpuType)).toEqual({
      kind: 'assign',
      host: 'a',
    });
  });

  it('still passes over a host the task failed on for a fresh one with any free slot', () => {
    // Its own slots are free only on `b`, where the task failed; `a` has loop 1's slot 3 free.
    expect(routeTask(view({ a: [1] }, share, { a: 2 }), failedOn('b'), 'general', type)).toEqual({
      kind: 'assign',
      host: 'a',
    });
  });
});
