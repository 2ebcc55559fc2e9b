import { Sema } from 'async-sema';
import type { HostConfig } from '../config/types.js';
import { slotGpus } from '../hosts/gpu.js';
import { type LoopShare, slotsInShareOrder } from './spread.js';

/** One held slot: its index on the host and the GPUs it is bound to (empty when unbound). */
export interface Slot {
  readonly host: string;
  readonly index: number;
  readonly gpus: readonly number[];
}

/**
 * A host's concurrency limit in this loop: a semaphore of `slots` permits. The usable count can
 * shrink below the configured one (free GPU memory short, host draining) without touching
 * running work. Slots that other loops on the store hold (`held`, by index, from their live
 * leases) are not handed out; the claim itself checks the same under the store's lock.
 * Waiters (a task taking its slot back after a tool call) are served before new claims.
 */
export class HostSlots {
  readonly #sema: Sema;
  readonly #free: number[];
  readonly #gpuOfSlot: readonly (readonly number[])[];
  #used = 0;
  #effective: number;

  constructor(readonly host: HostConfig) {
    this.#sema = new Sema(host.slots);
    this.#effective = host.slots;
    this.#free = Array.from({ length: host.slots }, (_, i) => i);
    const binding = host.gpuBinding;
    this.#gpuOfSlot = this.#free.map((i) => (binding ? slotGpus(binding, i) : []));
  }

  get total(): number {
    return this.host.slots;
  }

  get used(): number {
    return this.#used;
  }

  /** Slots usable now (configured, less any shrink for GPU memory). */
  get effective(): number {
    return this.#effective;
  }

  get free(): number {
    return Math.max(0, this.#effective - this.#used);
  }

  /** Slots free here while other loops hold `held` of this host's slots. */
  freeBeside(held: readonly number[] = []): number {
    return Math.max(0, this.#effective - this.#used - held.length);
  }

  /** Slots free here that are this loop's own under `share` (see spread.ts), beside `held`. */
  ownFreeBeside(held: readonly number[], share: LoopShare): number {
    let own = 0;
    for (const i of this.#free) if (i % share.count === share.index && !held.includes(i)) own += 1;
    return Math.min(own, this.freeBeside(held));
  }

  setEffective(count: number): void {
    this.#effective = Math.max(0, Math.min(this.host.slots, Math.floor(count)));
  }

  /**
   * Take a slot now if one is free; never waits, so a full host holds nothing up. With `fits`,
   * only a slot whose GPUs it accepts (their free memory holds the task), lowest index first.
   */
  tryAcquire(
    fits?: (gpus: readonly number[]) => boolean,
    held: readonly number[] = [],
    share?: LoopShare,
  ): Slot | undefined {
    if (this.freeBeside(held) <= 0 || this.#sema.nrWaiting() > 0) return undefined;
    const usable = (i: number) => !held.includes(i) && (!fits || fits(this.#gpuOfSlot[i] ?? []));
    // With `share` (other loops hold slots here too), this loop's own slots first: see spread.ts.
    const first = share ? slotsInShareOrder(this.#free.filter(usable), share)[0] : undefined;
    const at = share ? (first === undefined ? -1 : this.#free.indexOf(first)) : this.#free.findIndex(usable);
    if (at < 0) return undefined;
    if (this.#sema.tryAcquire() === undefined) return undefined;
    return this.#take(at);
  }

  /** Wait for a slot (used to take one back after a tool call released it), avoiding `held`. */
  async acquire(held: readonly number[] = []): Promise<Slot> {
    await this.#sema.acquire();
    const at = this.#free.findIndex((i) => !held.includes(i));
    return this.#take(Math.max(0, at));
  }

  release(slot: Slot): void {
    this.#used -= 1;
    this.#free.push(slot.index);
    this.#free.sort((a, b) => a - b);
    this.#sema.release();
  }

  #take(at = 0): Slot {
    this.#used += 1;
    const index = this.#free.splice(at, 1)[0] ?? 0;
    return { host: this.host.name, index, gpus: this.#gpuOfSlot[index] ?? [] };
  }
}

/**
 * Applies a new list of hosts to a loop's slots: new hosts get slots, a changed count applies
 * once the host's running work ended (attempts release into the semaphore they came from).
 */
export function resizeSlots(slots: Map<string, HostSlots>, hosts: readonly HostConfig[]): void {
  for (const host of hosts) {
    const existing = slots.get(host.name);
    if (!existing || (existing.total !== host.slots && existing.used === 0))
      slots.set(host.name, new HostSlots(host));
  }
  for (const name of [...slots.keys()]) {
    if (!hosts.some((h) => h.name === name) && slots.get(name)?.used === 0) slots.delete(name);
  }
}
