import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/types.js';
import { HostSlots } from '../../src/schedule/slots.js';

const host = (slots: number, extra: Partial<HostConfig> = {}) =>
  ({ name: 'surtr', slots, ...extra }) as HostConfig;

describe('HostSlots', () => {
  it('never hands out more slots than the host has', () => {
    const slots = new HostSlots(host(2));
    const a = slots.tryAcquire();
    const b = slots.tryAcquire();
    expect(a && b).toBeTruthy();
    expect(slots.tryAcquire()).toBeUndefined();
    slots.release(a!);
    expect(slots.tryAcquire()).toBeDefined();
  });

  it('shrinks usable slots without touching held ones', () => {
    const slots = new HostSlots(host(3));
    const held = slots.tryAcquire()!;
    slots.setEffective(1);
    expect(slots.free).toBe(0);
    expect(slots.tryAcquire()).toBeUndefined();
    slots.release(held);
    expect(slots.tryAcquire()).toBeDefined();
  });

  it('serves a waiter taking its slot back before new claims', async () => {
    const slots = new HostSlots(host(1));
    const first = slots.tryAcquire()!;
    const back = slots.acquire();
    slots.release(first);
    expect(slots.tryAcquire()).toBeUndefined();
    const regained = await back;
    expect(regained.host).toBe('surtr');
    expect(slots.used).toBe(1);
  });

  it('binds slots to GPUs in turn, so the first tasks spread over the GPUs', () => {
    const slots = new HostSlots(host(4, { gpuBinding: { gpus: [0, 1], perGpu: 2 } }));
    const taken = [slots.tryAcquire()!, slots.tryAcquire()!, slots.tryAcquire()!, slots.tryAcquire()!];
    expect(taken.map((s) => s.gpus)).toEqual([[0], [1], [0], [1]]);
  });

  it('gives a task needing GPU memory a slot on a GPU that has it, or none', () => {
    const slots = new HostSlots(host(4, { gpuBinding: { gpus: [0, 1], perGpu: 2 } }));
    const gpu0Full = (gpus: readonly number[]) => !gpus.includes(0);
    expect(slots.tryAcquire(gpu0Full)).toMatchObject({ index: 1, gpus: [1] });
    expect(slots.tryAcquire(gpu0Full)).toMatchObject({ index: 3, gpus: [1] });
    expect(slots.tryAcquire(gpu0Full)).toBeUndefined();
    expect(slots.used).toBe(2);
    expect(slots.tryAcquire()).toMatchObject({ index: 0, gpus: [0] });
  });

  it('with a share among loops, takes its own slots first, then the others highest first, never a held one', () => {
    const slots = new HostSlots(host(8));
    // Loop 1 of 3: its own slots are 1, 4 and 7; another loop's lease holds 4.
    const share = { index: 1, count: 3 };
    const taken = Array.from({ length: 7 }, () => slots.tryAcquire(undefined, [4], share)?.index);
    expect(taken).toEqual([1, 7, 6, 5, 3, 2, 0]);
    expect(slots.tryAcquire(undefined, [4], share)).toBeUndefined();
  });

  it('with a share, still only slots on GPUs the task fits', () => {
    const slots = new HostSlots(host(4, { gpuBinding: { gpus: [0, 1], perGpu: 2 } }));
    const onGpu1 = (gpus: readonly number[]) => gpus.includes(1);
    const share = { index: 0, count: 2 };
    // Its own slots are 0 and 2 (GPU 0): none fits, so GPU 1's, highest first.
    expect(slots.tryAcquire(onGpu1, [], share)).toMatchObject({ index: 3 });
    expect(slots.tryAcquire(onGpu1, [], share)).toMatchObject({ index: 1 });
    expect(slots.tryAcquire(onGpu1, [], share)).toBeUndefined();
  });
});
