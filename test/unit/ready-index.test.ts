import { describe, expect, it } from 'vitest';
import type { Link, SlimIssue } from '../../src/store/beads-jsonl/line-record.js';
import { computeReadyBase } from '../../src/store/beads-jsonl/ready.js';
import { ReadyIndex } from '../../src/store/beads-jsonl/ready-index.js';

/** A seeded generator, so a failure is the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const statuses = ['open', 'open', 'open', 'in_progress', 'closed', 'blocked', 'pinned'];
const linkTypes: Link['type'][] = ['blocks', 'conditional-blocks', 'parent-child', 'waits-for'];

function randomSlim(id: string, ids: readonly string[], random: () => number, withLinks: boolean): SlimIssue {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const links: Link[] | undefined =
    withLinks && random() < 0.3 ? [{ type: pick(linkTypes), target: pick(ids) }] : undefined;
  return {
    id,
    status: pick(statuses),
    priority: Math.floor(random() * 3),
    issueType: random() < 0.05 ? 'epic' : 'task',
    createdKey: Math.floor(random() * 50),
    pinned: random() < 0.03,
    ephemeral: random() < 0.03,
    deferUntil: withLinks && random() < 0.05 ? 1000 : undefined,
    links,
  };
}

/** The same store's answer worked out from scratch. */
function fromScratch(slims: Map<string, SlimIssue>) {
  const open = [...slims.values()].filter((s) => s.status === 'open');
  const base = computeReadyBase(open, slims);
  return { ordered: base.ordered.map((s) => s.id), deferred: [...base.deferredUntil.entries()].sort() };
}

function run(seed: number, withLinks: boolean, lookChance = 0.4, chunkSize?: number): void {
  const random = seeded(seed);
  const ids = Array.from({ length: 40 }, (_, i) => `bd-${i}`);
  const slims = new Map<string, SlimIssue>();
  const openIds = () => [...slims.values()].filter((s) => s.status === 'open').map((s) => s.id);
  // Each issue's value is its current record: a stale one shows a value not kept up to date.
  const index = new ReadyIndex(slims, openIds, (slim) => slims.get(slim.id), { chunkSize });
  let lastLook: { generation: number; ids: string[] } | undefined;
  for (let step = 0; step < 400; step += 1) {
    const id = ids[Math.floor(random() * ids.length)] as string;
    const before = slims.get(id);
    const after = random() < 0.1 ? undefined : randomSlim(id, ids, random, withLinks);
    if (after) slims.set(id, after);
    else slims.delete(id);
    index.changed(id, before, after);
    // Looked at after some changes only: changes pile up between two looks, as they do.
    if (random() < lookChance) {
      const ordered: string[] = [];
      const values: Array<SlimIssue | undefined> = [];
      index.forEach((slim, value) => {
        ordered.push(slim.id);
        values.push(value);
      });
      const got = { ordered, deferred: [...index.deferredUntil().entries()].sort() };
      expect(got, `seed ${seed}, step ${step}`).toEqual(fromScratch(slims));
      // The values follow the list, each the issue's record as it is now.
      for (const [i, id] of ordered.entries()) expect(values[i]).toBe(slims.get(id));
      expect(index.valuesJoined()).toEqual(values);
      // An unchanged generation means an unchanged list.
      if (lastLook?.generation === index.generation) expect(got.ordered).toEqual(lastLook.ids);
      lastLook = { generation: index.generation, ids: got.ordered };
    }
  }
}

describe('the ready order kept change by change', () => {
  it('matches bd’s rules worked out from scratch, for issues without links', () => {
    for (let seed = 1; seed <= 20; seed += 1) run(seed, false);
  });

  it('matches them with blockers, parents, waits and defer times among the changes', () => {
    for (let seed = 1; seed <= 20; seed += 1) run(seed, true);
  });

  it('matches them when many changes pile up between two looks (taken in one pass)', () => {
    for (let seed = 1; seed <= 20; seed += 1) run(seed, false, 0.05);
  });

  it('matches them when the list is kept in chunks of a few issues, split and emptied as it changes', () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      run(seed, false, 0.4, 2);
      run(seed, true, 0.4, 3);
      run(seed, false, 0.05, 1);
    }
  });
});
