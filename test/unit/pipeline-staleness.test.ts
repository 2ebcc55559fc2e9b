import { describe, expect, it } from 'vitest';
import { EventBus, type YggEvents } from '../../src/observe/events.js';
import { admissionCapacity, isStale, StaleCounter, StalenessGate } from '../../src/pipeline/staleness.js';

const settings = { batchSize: 4, maxStaleness: 1, maxInflight: 6 };

describe('admission capacity (AReaL)', () => {
  it('is min(max_inflight - running, (max_staleness + version + 1) * batch_size - (accepted + running))', () => {
    // (1 + 0 + 1) * 4 - 0 = 8 by staleness; 6 by inflight.
    expect(admissionCapacity(settings, { version: 0, running: 0, accepted: 0 })).toBe(6);
    // 8 - (3 + 2) = 3 by staleness; 6 - 2 = 4 by inflight.
    expect(admissionCapacity(settings, { version: 0, running: 2, accepted: 3 })).toBe(3);
    // Every v0 place taken: nothing starts until version 1 is published.
    expect(admissionCapacity(settings, { version: 0, running: 1, accepted: 7 })).toBe(0);
    expect(admissionCapacity(settings, { version: 1, running: 1, accepted: 7 })).toBe(4);
    // Never negative.
    expect(admissionCapacity(settings, { version: 0, running: 9, accepted: 9 })).toBe(0);
    expect(
      admissionCapacity({ ...settings, maxStaleness: 0 }, { version: 2, running: 0, accepted: 10 }),
    ).toBe(2);
  });

  it('calls a trajectory stale only past max_staleness versions', () => {
    expect(isStale(3, 4, 1)).toBe(false);
    expect(isStale(3, 5, 1)).toBe(true);
    expect(isStale(5, 5, 0)).toBe(false);
    expect(isStale(4, 5, 0)).toBe(true);
  });
});

describe('StalenessGate', () => {
  it('admits up to the bound, frees places on finish, and times admissions with the injected clock', () => {
    let version = 0;
    let now = 1_000;
    const gate = new StalenessGate({ settings, version: () => version, now: () => now });
    const tickets = [];
    for (let i = 0; i < 6; i++) tickets.push(gate.tryAdmit());
    expect(tickets.every(Boolean)).toBe(true);
    expect(gate.tryAdmit()).toBeUndefined(); // max_inflight 6
    expect(tickets[0]).toMatchObject({ policyVersion: 0, admittedAt: 1_000 });

    now = 4_500;
    expect(gate.oldestRunningMs()).toBe(3_500); // queue time counts from admission
    gate.finish(tickets[0]!, true);
    gate.finish(tickets[0]!, true); // twice is harmless
    gate.finish(tickets[1]!, false); // a failed rollout frees its place without counting
    expect(gate.counts()).toEqual({ version: 0, running: 4, accepted: 1 });
    // staleness bound: 8 - (1 + 4) = 3, inflight: 6 - 4 = 2
    expect(gate.capacity()).toBe(2);
    const more = [gate.tryAdmit(), gate.tryAdmit()];
    expect(more.every(Boolean)).toBe(true);
    for (const t of [...tickets.slice(2), ...more]) gate.finish(t!, true);
    expect(gate.counts()).toEqual({ version: 0, running: 0, accepted: 7 });
    expect(gate.capacity()).toBe(1);
    gate.tryAdmit();
    expect(gate.tryAdmit()).toBeUndefined(); // 8 accepted or running at v0: wait for v1
    version = 1;
    const later = gate.tryAdmit();
    expect(later?.policyVersion).toBe(1);
    expect(gate.runningVersions().sort()).toEqual([0, 1]);
  });

  it('resumes with the accepted count it is given after a restart', () => {
    const gate = new StalenessGate({ settings, version: () => 2, accepted: 15 });
    // (1 + 2 + 1) * 4 - 15 = 1
    expect(gate.capacity()).toBe(1);
  });
});

describe('StaleCounter', () => {
  it('counts stale trajectories and emits the running total', () => {
    const events = new EventBus();
    const seen: YggEvents['trajectory:stale'][] = [];
    events.on('trajectory:stale', (e) => seen.push(e));
    const counter = new StaleCounter(events);
    counter.add(0, 1);
    counter.add(2, 3);
    counter.add(1, 4);
    expect(counter.total).toBe(3);
    expect(seen).toEqual([
      { count: 2, policyVersion: 3, total: 2 },
      { count: 1, policyVersion: 4, total: 3 },
    ]);
  });
});
