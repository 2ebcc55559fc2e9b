/** Schema issues (zod) turned into problems a person can act on: the key path and a plain message. */
import { z } from 'zod';
import { type ConfigPath, type ConfigProblem, closest } from './problems.js';

type Schema = z.ZodType;

/** The schema at `path` inside `root`, looking through optional wrappers, records, lists and unions. */
function schemaAt(root: Schema, path: ConfigPath): Schema[] {
  let current: Schema[] = [root];
  for (const part of path) {
    current = current.flatMap((s) => child(unwrap(s), part));
  }
  return current.map(unwrap);
}

function unwrap(schema: Schema): Schema {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as Schema;
  return s;
}

function child(schema: Schema, part: string | number): Schema[] {
  if (schema instanceof z.ZodObject) {
    const next = (schema.shape as Record<string, Schema>)[String(part)];
    return next ? [next] : [];
  }
  if (schema instanceof z.ZodRecord) return [schema.valueType as Schema];
  if (schema instanceof z.ZodArray) return [schema.element as Schema];
  if (schema instanceof z.ZodUnion)
    return (schema.options as Schema[]).flatMap((o) => child(unwrap(o), part));
  return [];
}

function allowedKeys(root: Schema, path: ConfigPath): string[] {
  return schemaAt(root, path).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : []));
}

/** The value at `path` in parsed YAML data; undefined where the path leaves the data. */
export function valueAt(data: unknown, path: ConfigPath): unknown {
  let value = data;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[String(part)];
  }
  return value;
}

const expectedWords: Record<string, string> = {
  object: 'a map',
  record: 'a map',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

const show = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'a list'
      : typeof value === 'object'
        ? 'a map'
        : JSON.stringify(value);

const entryWords: Record<string, string> = { hosts: 'host', types: 'type', tools: 'tool' };

/**
 * A hint when an entry's name is really one of an entry's settings (`slots: 2` written under
 * `hosts:` instead of under a host): the key was indented one level too far out.
 */
function misplacedSetting(root: Schema, path: ConfigPath): string {
  const [section, key] = path;
  if (path.length !== 2 || typeof section !== 'string' || typeof key !== 'string') return '';
  const entry = entryWords[section];
  if (!entry || !allowedKeys(root, [section, key]).includes(key)) return '';
  return ` ("${key}" is a setting of each ${entry}: is it indented under the wrong parent?)`;
}

/**
 * Where a key unknown at the top of the file is a setting (`slots: 2` written at column 0): the
 * key was indented too little. Empty when it is a setting nowhere.
 */
function settingElsewhere(root: Schema, key: string): string {
  const parents = allowedKeys(root, []).flatMap((section) => {
    const entry = entryWords[section];
    const keys = entry ? allowedKeys(root, [section, key]) : allowedKeys(root, [section]);
    return keys.includes(key) ? [entry ? `each ${entry}` : section] : [];
  });
  if (parents.length === 0) return '';
  const named = parents.length > 4 ? [...parents.slice(0, 3), 'elsewhere'] : parents;
  const where = named.length > 1 ? `${named.slice(0, -1).join(', ')} or ${named.at(-1)}` : named[0];
  return `"${key}" is a setting of ${where}: is it indented under the wrong parent?`;
}

/** One problem per issue (one per key for unknown keys), with the key path and a plain message. */
export function problemsFromIssues(
  root: Schema,
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(root, path);
      for (const key of issue.keys) {
        const guess = closest(key, allowed);
        const elsewhere = path.length === 0 ? settingElsewhere(root, key) : '';
        const hint =
          elsewhere || (guess ? `did you mean "${guess}"?` : `expected one of: ${allowed.join(', ')}`);
        problems.push({ severity: 'error', path: [...path, key], message: `unknown key "${key}" (${hint})` });
      }
      continue;
    }
    const value = valueAt(data, path);
    // zod's own wording is rephrased; messages the schema wrote itself are kept.
    const zodWording = /^Invalid (input|option)/.test(issue.message);
    let message = issue.message.replace(/^Invalid input: /, '');
    if (issue.code === 'invalid_type' && value === undefined) {
      message = `required key is missing (${message})`;
    } else if (issue.code === 'invalid_type' && zodWording) {
      message = `expected ${expectedWords[issue.expected] ?? issue.expected}, got ${show(value)}`;
      message += misplacedSetting(root, path);
    } else if (issue.code === 'invalid_value' && zodWording) {
      message = `expected one of ${issue.values.map((v) => String(v)).join(', ')}, got ${show(value)}`;
    } else if (value !== undefined && typeof value !== 'object') {
      message = `${message}, got ${show(value)}`;
    }
    problems.push({ severity: 'error', path, message });
  }
  return problems;
}
