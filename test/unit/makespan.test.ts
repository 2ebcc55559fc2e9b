import { describe, expect, it } from 'vitest';
import { type Placement, type PlannedTask, planMakespan } from '../../src/schedule/makespan.js';

const hosts = ['surtr', 'fenrir', 'skadi'];
const slotsFree = () =>
  new Map<string, number[]>([
    ['surtr', [0, 0]],
    ['fenrir', [0, 0, 0]],
    ['skadi', [0, 0]],
  ]);
const task = (id: string, ms: number): PlannedTask => ({ id, hosts, ms: () => ms });
/** The seed30 work: ten each of 30, 20 and 40 units, interleaved. */
const seed30 = Array.from({ length: 10 }, (_, i) => [
  task(`c${i}`, 30),
  task(`t${i}`, 20),
  task(`r${i}`, 40),
]).flat();

function end(plan: Map<string, Placement>, tasks: readonly PlannedTask[]): number {
  return Math.max(...tasks.map((t) => plan.get(t.id)!.startMs + t.ms(plan.get(t.id)!.host)));
}

describe('makespan plan', () => {
  it('packs the seed30 work on 7 slots within 130 units (bound 900/7)', () => {
    const plan = planMakespan(seed30, slotsFree());
    expect(plan.size).toBe(30);
    expect(end(plan, seed30)).toBeLessThanOrEqual(130);
  });

  it('keeps the previous plan when planning afresh would not end sooner', () => {
    const first = planMakespan(seed30, slotsFree());
    const again = planMakespan(seed30, slotsFree(), first);
    expect(end(again, seed30)).toBeLessThanOrEqual(end(first, seed30));
    for (const t of seed30) expect(again.get(t.id)?.host).toBe(first.get(t.id)?.host);
  });

  it('drops a previous placement on a host no longer offered', () => {
    const previous = new Map<string, Placement>([['c0', { host: 'gone', startMs: 0 }]]);
    const plan = planMakespan([task('c0', 30)], slotsFree(), previous);
    expect(hosts).toContain(plan.get('c0')?.host);
  });
});
