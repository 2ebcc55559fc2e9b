/** Every schema version in order; a new one is appended, never edited once released. */
import { initial } from './0001-initial.js';
import { dispatchers } from './0002-dispatchers.js';
import { counters } from './0003-counters.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [initial, dispatchers, counters];

export const latestSchemaVersion = migrations.at(-1)?.version ?? 0;
