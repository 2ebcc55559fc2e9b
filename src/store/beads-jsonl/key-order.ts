import type { KeyPlacer } from './splice.js';

/** bd's Issue struct order (both eras): where a key new to a line goes. */
const bdKeyOrder = [
  '_type',
  'id',
  'title',
  'description',
  'design',
  'acceptance_criteria',
  'notes',
  'spec_id',
  'status',
  'priority',
  'issue_type',
  'assignee',
  'owner',
  'estimated_minutes',
  'created_at',
  'created_by',
  'updated_at',
  'started_at',
  'closed_at',
  'close_reason',
  'closed_by_session',
  'due_at',
  'defer_until',
  'external_ref',
  'source_system',
  'metadata',
  'compaction_level',
  'compacted_at',
  'compacted_at_commit',
  'original_size',
  'source_repo',
  'labels',
  'dependencies',
  'comments',
  'deleted_at',
  'deleted_by',
  'delete_reason',
  'original_type',
  'sender',
  'ephemeral',
  'wisp_type',
  'pinned',
  'is_template',
  'await_type',
  'await_id',
  'timeout',
  'waiters',
  'dependency_count',
  'dependent_count',
  'comment_count',
];

const rank = new Map(bdKeyOrder.map((key, i) => [key, i]));

/**
 * Places each new key right after the last kept key that bd writes before it; keys bd does not
 * know go at the end. Kept keys never move.
 */
export const placeLikeBd: KeyPlacer = (kept, added) => {
  const out = [...kept];
  for (const key of added) {
    const r = rank.get(key);
    if (r === undefined) {
      out.push(key);
      continue;
    }
    let at = 0;
    for (let i = 0; i < out.length; i++) {
      const ri = rank.get(out[i] ?? '');
      if (ri !== undefined && ri < r) at = i + 1;
    }
    out.splice(at, 0, key);
  }
  return out;
};

/** Orders the keys of a brand-new line as bd would. */
export function bdOrder(keys: string[]): string[] {
  return placeLikeBd([], keys);
}
