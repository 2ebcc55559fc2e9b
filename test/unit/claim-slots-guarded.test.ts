/**
 * A claim planned before a store's lock, on a store that refuses overbooked slots itself
 * (PostgreSQL): it counts the other tasks' leases only when the store's check is not the same
 * check, so that a host held back by GPU memory, or a type's cap, still holds across loops.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimChange } from '../../src/dispatch/lifecycle/changes.js';
import { claim } from '../../src/dispatch/lifecycle/claim.js';
import type { MutationContext } from '../../src/store/store.js';
import type { Task } from '../../src/store/task.js';

const now = Date.parse('2026-01-02T00:00:00Z');
const open: Task = { id: 'bd-new', title: 'new', status: 'open', priority: 2, issue_type: 'task' };
// Another loop's live lease on slot 0 of surtr.
const running: Task = {
  id: 'bd-run',
  title: 'running',
  status: 'in_progress',
  priority: 2,
  issue_type: 'task',
  metadata: {
    ygg: {
      attempt: 1,
      lease: {
        owner: 'loop-2',
        token: 1,
        expires: new Date(now + 60_000).toISOString(),
        host: 'surtr',
        slot: 0,
        type: 'task',
      },
    },
  },
};

/** A slot-guarding context that records whether the claim read the other tasks. */
function guardedContext(): MutationContext & { read: boolean } {
  const context = {
    read: false,
    slotsGuarded: true,
    changes: 0,
    newCommentId: () => 1,
    tasks(statuses: readonly string[]) {
      context.read = true;
      return [running].filter((t) => statuses.includes(t.status as string));
    },
  };
  return context;
}

const change = (over: Partial<ClaimChange> = {}): ClaimChange => ({
  op: 'claim',
  id: 'bd-new',
  owner: 'loop-1',
  host: 'surtr',
  slot: 1,
  type: 'task',
  hostSlots: 2,
  leaseMs: 60_000,
  now,
  ...over,
});

describe('a claim on a store that guards the slots itself', () => {
  it('leaves the slots to the store when the host uses all it has', () => {
    const context = guardedContext();
    const claimed = claim(change({ allHostSlots: true }))(open, context);
    expect(claimed?.status).toBe('in_progress');
    expect(context.read).toBe(false);
  });

  it('counts the other leases when GPU memory holds slots back: a host using 1 of 2 is full', () => {
    const context = guardedContext();
    expect(claim(change({ hostSlots: 1 }))(open, context)).toBeUndefined();
    expect(context.read).toBe(true);
  });

  it('counts them for a type’s cap across loops', () => {
    const context = guardedContext();
    expect(claim(change({ allHostSlots: true, typeCap: 1 }))(open, context)).toBeUndefined();
    expect(context.read).toBe(true);
  });

  it('counts them on a store that does not guard slots', () => {
    const context = { ...guardedContext(), slotsGuarded: false };
    expect(claim(change({ allHostSlots: true, slot: 0 }))(open, context)).toBeUndefined();
  });
});
