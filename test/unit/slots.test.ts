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

  it('with spread (other loops hold slots here too), takes a usable slot at random, never a held one', () => {
    const slots = new HostSlots(host(4, { gpuBinding: { gpus: [0, 1], perGpu: 2 } }));
    // held: another loop's lease on slot 1; fits: GPU 1 only (slots 1 and 3); random: the last.
    const onGpu1 = (gpus: readonly number[]) => gpus.includes(1);
    expect(slots.tryAcquire(onGpu1, [1], () => 0.99)).toMatchObject({ index: 3 });
    expect(slots.tryAcquire(onGpu1, [1], () => 0)).toBeUndefined();
    // Without a fit rule: the usable free slots are 0 and 2 (1 held, 3 taken); 0.6 picks the second.
    expect(slots.tryAcquire(undefined, [1], () => 0.6)).toMatchObject({ index: 2 });
    expect(slots.tryAcquire(undefined, [1], () => 0.6)).toMatchObject({ index: 0 });
    expect(slots.tryAcquire(undefined, [1], () => 0.6)).toBeUndefined();
    expect(slots.used).toBe(3);
  });
});
