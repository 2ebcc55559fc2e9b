/** The values `ygg list --status` and `--type` take: anything else is refused, not an empty list. */
import { defaultTypeRules, fallbackType } from '../config/type-rules.js';
import type { YggConfig } from '../config/types.js';

/** bd's statuses, then the states `ygg list` shows in the status column instead. */
export const listStatuses: readonly string[] = [
  'open',
  'in_progress',
  'blocked',
  'deferred',
  'closed',
  'pinned',
  'hooked',
  'tombstone',
  'dead',
  'held',
  'waiting',
];

/**
 * Every type a task here can have: those hosts.yaml's rules and `types:` name (the built-in
 * rules without one), `general`, and those the tasks in the store show (what they ran as).
 */
export function knownTypes(
  config: Pick<YggConfig, 'typeRules' | 'issueTypeMap' | 'types'> | undefined,
  shown: Iterable<string>,
): string[] {
  const rules = config?.typeRules ?? defaultTypeRules;
  return [
    ...new Set([
      ...rules.map((rule) => rule.type),
      ...Object.keys(config?.types ?? {}),
      ...Object.values(config?.issueTypeMap ?? {}),
      fallbackType,
      ...shown,
    ]),
  ].sort();
}
