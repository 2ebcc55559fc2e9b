import type { SlimIssue } from './line-record.js';

/** Issue types that are never work (bd's list, plus `epic`: a container for ygg). */
export const excludedTypes = new Set([
  'merge-request',
  'gate',
  'molecule',
  'message',
  'agent',
  'role',
  'rig',
  'epic',
]);

/** The ready candidates before time is considered, in order, and what defers each. */
export interface ReadyBase {
  /** Ready issues, ignoring `defer_until`, ordered by priority, oldest `created_at`, then id. */
  ordered: SlimIssue[];
  /** For candidates hidden until some time: the latest of their own and their parent's `defer_until`. */
  deferredUntil: Map<string, number>;
}

const isDone = (issue: SlimIssue) => issue.status === 'closed' || issue.status === 'pinned';

/** bd's order for ygg: priority ascending, then oldest first, then id. */
export function compareReady(a: SlimIssue, b: SlimIssue): number {
  return a.priority - b.priority || a.createdKey - b.createdKey || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * bd's ready rules (BEADS-FORMAT.md) over the slim index, everything but the clock: open, not
 * pinned or ephemeral, not an excluded type, not blocked (`blocks`, `conditional-blocks`,
 * `waits-for`, a blocked parent, transitively). A dangling target never blocks. Beyond bd: a task
 * with a wrong-shaped key (`badShape`) is never ready.
 */
export function computeReadyBase(
  issues: Iterable<SlimIssue>,
  byId: ReadonlyMap<string, SlimIssue>,
): ReadyBase {
  let children: Map<string, SlimIssue[]> | undefined;
  const childrenOf = (id: string): SlimIssue[] => {
    if (!children) {
      children = new Map();
      for (const issue of byId.values()) {
        for (const link of issue.links ?? []) {
          if (link.type !== 'parent-child') continue;
          const list = children.get(link.target);
          if (list) list.push(issue);
          else children.set(link.target, [issue]);
        }
      }
    }
    return children.get(id) ?? [];
  };

  const memo = new Map<string, boolean>();
  const blocked = (issue: SlimIssue): boolean => {
    // Most issues have no links: no entry for them, so the memo stays small (a map of every
    // open issue was a large allocation on each change of a 100,000-issue store).
    if (!issue.links || issue.links.length === 0) return false;
    const known = memo.get(issue.id);
    if (known !== undefined) return known;
    memo.set(issue.id, false); // a parent cycle does not block
    let result = false;
    for (const link of issue.links ?? []) {
      if (link.type === 'blocks' || link.type === 'conditional-blocks') {
        const target = byId.get(link.target);
        if (target && !isDone(target)) result = true;
      } else if (link.type === 'waits-for') {
        const spawner = link.spawner ?? link.target;
        if (!byId.has(spawner)) continue;
        const kids = childrenOf(spawner);
        if (link.gate === 'any-children') result = kids.length > 0 && !kids.some(isDone);
        else result = kids.some((kid) => !isDone(kid));
      } else {
        const parent = byId.get(link.target);
        if (parent && blocked(parent)) result = true;
      }
      if (result) break;
    }
    memo.set(issue.id, result);
    return result;
  };

  const ordered: SlimIssue[] = [];
  const deferredUntil = new Map<string, number>();
  for (const issue of issues) {
    if (issue.status !== 'open' || issue.pinned || issue.ephemeral || excludedTypes.has(issue.issueType))
      continue;
    // A task with a wrong-shaped key cannot run (reported as a store problem).
    if (issue.badShape) continue;
    if (blocked(issue)) continue;
    ordered.push(issue);
    let until = issue.deferUntil ?? Number.NEGATIVE_INFINITY;
    for (const link of issue.links ?? []) {
      if (link.type !== 'parent-child') continue;
      const parentDefer = byId.get(link.target)?.deferUntil;
      if (parentDefer !== undefined && parentDefer > until) until = parentDefer;
    }
    if (until > Number.NEGATIVE_INFINITY) deferredUntil.set(issue.id, until);
  }
  ordered.sort(compareReady);
  return { ordered, deferredUntil };
}

/** The ready list at `nowMs`, and until when that answer holds (the next `defer_until` to pass). */
export function readyAt(base: ReadyBase, nowMs: number): { ready: SlimIssue[]; validUntil: number } {
  if (base.deferredUntil.size === 0) return { ready: base.ordered, validUntil: Number.POSITIVE_INFINITY };
  let validUntil = Number.POSITIVE_INFINITY;
  const ready = base.ordered.filter((issue) => {
    const until = base.deferredUntil.get(issue.id);
    if (until === undefined || until <= nowMs) return true;
    if (until < validUntil) validUntil = until;
    return false;
  });
  return { ready, validUntil };
}
