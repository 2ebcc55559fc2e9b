/** Every schema version in order; a new one is appended, never edited once released. */
import { initial } from './0001-initial.js';
import { hostsSlots } from './0002-hosts-slots.js';
import { dispatchers } from './0003-dispatchers.js';
import { counters } from './0004-counters.js';
import { slotConstraint } from './0005-slot-constraint.js';
import { commitFunction } from './0006-commit-function.js';
import { commitCountsNewer } from './0007-commit-counts-newer.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  initial,
  hostsSlots,
  dispatchers,
  counters,
  slotConstraint,
  commitFunction,
  commitCountsNewer,
];

export const latestSchemaVersion = migrations.at(-1)?.version ?? 0;
