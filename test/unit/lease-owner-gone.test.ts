/**
 * A lease whose owner the store knows to be gone (a PostgreSQL store saw its session lock
 * released) reads as lapsed wherever leases are read: a claim takes the task, the host's slot and
 * the type's cap are free again, and a pass finds the task to take back. Without such knowledge
 * only the expiry counts.
 */
import { describe, expect, it } from 'vitest';
import { scanInProgress } from '../../src/dispatch/candidates.js';
import type { ClaimChange } from '../../src/dispatch/lifecycle/changes.js';
import { claim } from '../../src/dispatch/lifecycle/claim.js';
import { leaseLive, occupancy } from '../../src/dispatch/lifecycle/leases.js';
import type { MutationContext } from '../../src/store/store.js';
import { type Task, yggOf } from '../../src/store/task.js';
import { beadsIssue } from '../helpers/store-file.js';

const t0 = Date.parse('2026-01-02T00:00:00Z');
const dead = 'far-machine:4242:1';

const running = (id: string, owner: string, slot: number) =>
  beadsIssue(id, {
    status: 'in_progress',
    assignee: 'ygg',
    metadata: {
      ygg: {
        attempt: 1,
        lease: {
          owner,
          token: 1,
          expires: new Date(t0 + 60_000).toISOString(),
          host: 'surtr',
          slot,
          type: 'work',
        },
        history: [{ attempt: 1, host: 'surtr', type: 'work', start: '2026-01-02T00:00:00Z' }],
      },
    },
  }) as Task;

const context = (tasks: Task[], gone?: (owner: string) => boolean): MutationContext => ({
  newCommentId: () => 1,
  tasks: () => tasks,
  changes: 0,
  ...(gone ? { ownerGone: gone } : {}),
});

const takeBack = (id: string, over: Partial<ClaimChange> = {}): ClaimChange => ({
  op: 'claim',
  id,
  owner: 'near-machine:77:2',
  host: 'surtr',
  slot: 0,
  type: 'work',
  hostSlots: 1,
  typeCap: 1,
  leaseMs: 60_000,
  now: t0 + 1000,
  ...over,
});

describe('leases of an owner the store knows to be gone', () => {
  const task = running('a', dead, 0);
  const lease = yggOf(task).lease;
  const gone = (owner: string) => owner === dead;

  it('read as lapsed long before they expire; without that knowledge only the expiry counts', () => {
    expect(leaseLive(lease, t0 + 1000)).toBe(true);
    expect(leaseLive(lease, t0 + 1000, gone)).toBe(false);
    expect(leaseLive(lease, t0 + 1000, () => false)).toBe(true);
  });

  it('are claimed, the old attempt recorded as lost', () => {
    const tasks = [task];
    expect(claim(takeBack('a'))(task, context(tasks))).toBeUndefined();
    const taken = claim(takeBack('a'))(task, context(tasks, gone)) as Task;
    expect(yggOf(taken).lease?.owner).toBe('near-machine:77:2');
    expect(yggOf(taken).history?.map((h) => h.outcome)).toEqual(['lost', undefined]);
  });

  it('hold no slot and count against no cap', () => {
    const other = beadsIssue('b', {}) as Task;
    const tasks = [task, other];
    // The host's one slot and the type's cap of 1 are held by the live lease...
    expect(claim(takeBack('b'))(other, context(tasks))).toBeUndefined();
    // ...and free once its owner is known gone.
    expect(claim(takeBack('b'))(other, context(tasks, gone))).toBeDefined();
    expect(occupancy(tasks, t0 + 1000).slots.get('surtr')).toEqual([0]);
    expect(occupancy(tasks, t0 + 1000, undefined, gone).slots.get('surtr')).toBeUndefined();
  });

  it('are found by a pass as tasks to take back', () => {
    const scan = (g?: (owner: string) => boolean) =>
      scanInProgress([task, running('c', 'alive:1:1', 1)], 'near-machine:77:2', t0 + 1000, () => false, g);
    expect(scan().lapsed).toEqual([]);
    expect(scan(gone).lapsed.map((t) => t.id)).toEqual(['a']);
  });
});

describe('leases of a loop that died on this machine', () => {
  it('hold no slot in a pass: its task is taken back now, not when the lease runs out', async () => {
    const { hostname } = await import('node:os');
    // A pid no process has (pid_max is at most 2^22).
    const deadHere = `${hostname()}:${2 ** 22 + 7}:1`;
    const alive = `${hostname()}:${process.pid}:1`;
    const scan = scanInProgress(
      [running('a', deadHere, 0)],
      alive.replace(':1', ':2'),
      t0 + 1000,
      () => false,
    );
    expect(scan.lapsed.map((t) => t.id)).toEqual(['a']);
    // Counting it would leave a 1-slot host full until the lease lapsed, with no wake set for it.
    expect(scan.elsewhere.slots.get('surtr') ?? []).toEqual([]);
    const other = scanInProgress([running('b', 'far-machine:1:1', 0)], alive, t0 + 1000, () => false);
    expect(other.elsewhere.slots.get('surtr')).toEqual([0]);
  });
});
