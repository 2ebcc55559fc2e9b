/**
 * The rule checks, run even when the schema refused some keys, so one `config check` reports
 * every problem: the refused values are dropped (their defaults take their place) and the rest is
 * checked as usual. Only keys inside an entry are dropped, never a whole host or type, so a rule
 * never reports a host as unknown because its `slots` was misspelt; a rule problem on a key the
 * schema already refused is left out (it is said once, by the schema).
 */
import type { z } from 'zod';
import { normalize } from './normalize.js';
import type { ConfigPath, ConfigProblem } from './problems.js';
import { checkRules } from './rules.js';
import { hostsFileSchema } from './schema.js';
import { valueAt } from './zod-issues.js';

/** Sections whose entries are named by the user: a refused key must lie inside an entry. */
const namedEntries = new Set(['hosts', 'types', 'tools']);
const maxRounds = 4;

export function rulesBeyondSchema(
  data: unknown,
  issues: readonly z.core.$ZodIssue[],
  baseDir: string,
  sourcePath: string,
): ConfigProblem[] {
  const current: unknown = structuredClone(data);
  const dropped: ConfigPath[] = [];
  let pending = issues;
  for (let round = 0; round < maxRounds; round++) {
    for (const issue of pending) {
      const paths = refusedPaths(issue);
      if (paths.some((path) => !droppable(current, path))) return [];
      for (const path of paths) {
        remove(current, path);
        dropped.push(path);
      }
    }
    const parsed = hostsFileSchema.safeParse(current);
    if (parsed.success) {
      const config = normalize(parsed.data, baseDir, sourcePath);
      return checkRules({ file: parsed.data, config, baseDir }).filter(
        (problem) => !dropped.some((path) => overlaps(path, problem.path)),
      );
    }
    pending = parsed.error.issues;
  }
  return [];
}

function refusedPaths(issue: z.core.$ZodIssue): ConfigPath[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => [...path, key]);
  // A list with a bad item goes as a whole: removing one item would renumber the rest.
  const listItem = path.findIndex((part) => typeof part === 'number');
  return [listItem >= 0 ? path.slice(0, listItem) : path];
}

function droppable(data: unknown, path: ConfigPath): boolean {
  const section = path[0];
  // A whole section other than the named ones (`queue: fast`, an unknown top-level key) goes too:
  // its defaults take its place, and no other key names it.
  if (typeof section !== 'string' || !namedEntries.has(section)) return path.length >= 1;
  if (path.length >= 3) return true;
  // An "entry" that is not a map is a setting indented one level too far out (`slots: 2` under
  // `hosts:`), not a host anyone names: dropping it cannot make a reference unknown.
  const value = valueAt(data, path);
  return path.length === 2 && (value === null || typeof value !== 'object');
}

function remove(data: unknown, path: ConfigPath): void {
  let parent = data;
  for (const part of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return;
    parent = (parent as Record<string, unknown>)[String(part)];
  }
  if (parent !== null && typeof parent === 'object')
    delete (parent as Record<string, unknown>)[String(path.at(-1))];
}

function overlaps(a: ConfigPath, b: ConfigPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (String(a[i]) !== String(b[i])) return false;
  return true;
}
