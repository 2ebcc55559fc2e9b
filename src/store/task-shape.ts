/**
 * The shapes ygg relies on in a task line: which keys must be strings, numbers, arrays, objects.
 * Any JSON can sit on a line (other tools and people write the file); a line whose keys have the
 * wrong shape is reported once as a store problem naming the key, never run, and never changed
 * by ygg, so that one bad line cannot stop the dispatcher. The readers in `task.ts` use the same
 * checks to hand out only well-shaped values.
 */

/** The first key of a task with the wrong shape, as a dotted path (`metadata.ygg.history[2].start`). */
export interface ShapeProblem {
  key: string;
  /** `"KEY" is an object, expected an array` */
  message: string;
}

/** Returns the problem with `value` at `key`, or undefined when it has the expected shape. */
export type ShapeCheck = (value: unknown, key: string) => ShapeProblem | undefined;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : 'a number too large';
  return `${typeof value} ${String(value)}`;
}

const wrong = (key: string, value: unknown, expected: string): ShapeProblem => ({
  key,
  message: `"${key}" is ${describe(value)}, expected ${expected}`,
});

export const aString: ShapeCheck = (v, key) =>
  typeof v === 'string' ? undefined : wrong(key, v, 'a string');
export const aNumber: ShapeCheck = (v, key) =>
  typeof v === 'number' && Number.isFinite(v) ? undefined : wrong(key, v, 'a number');
export const aBoolean: ShapeCheck = (v, key) =>
  typeof v === 'boolean' ? undefined : wrong(key, v, 'true or false');

/** `null` reads as absent, as in bd (Go leaves a field at its zero value for a JSON null). */
const orNull =
  (check: ShapeCheck): ShapeCheck =>
  (v, key) =>
    v === null ? undefined : check(v, key);

export function arrayOf(item: ShapeCheck): ShapeCheck {
  return (v, key) => {
    if (!Array.isArray(v)) return wrong(key, v, 'an array');
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i], `${key}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
}

/** An object whose listed members, where present, have their shapes (others are free). */
export function objectWith(fields: Record<string, ShapeCheck>, required: readonly string[] = []): ShapeCheck {
  return (v, key) => {
    if (!isPlainObject(v)) return wrong(key, v, 'an object');
    for (const name of required) {
      if (v[name] === undefined) return { key: `${key}.${name}`, message: `"${key}.${name}" is missing` };
    }
    return membersProblem(v, fields, key);
  };
}

/** Each field list with its keys spelled out, per prefix: every line ygg reads is checked. */
const spelled = new WeakMap<Record<string, ShapeCheck>, Map<string, Array<[string, ShapeCheck, string]>>>();

function spelledFields(
  fields: Record<string, ShapeCheck>,
  prefix: string,
): Array<[string, ShapeCheck, string]> {
  let byPrefix = spelled.get(fields);
  if (!byPrefix) {
    byPrefix = new Map();
    spelled.set(fields, byPrefix);
  }
  let list = byPrefix.get(prefix);
  if (!list) {
    list = Object.entries(fields).map(([name, check]) => [name, check, prefix ? `${prefix}.${name}` : name]);
    // Prefixes with an index (`history[3]`) are many; only the fixed ones are worth keeping.
    if (!prefix.includes('[')) byPrefix.set(prefix, list);
  }
  return list;
}

function membersProblem(
  v: Record<string, unknown>,
  fields: Record<string, ShapeCheck>,
  prefix: string,
): ShapeProblem | undefined {
  for (const [name, check, key] of spelledFields(fields, prefix)) {
    const value = v[name];
    if (value === undefined) continue;
    const problem = check(value, key);
    if (problem) return problem;
  }
  return undefined;
}

const limitValue: ShapeCheck = (v, key) =>
  typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string'
    ? undefined
    : wrong(key, v, 'a number, true/false or a size or duration');

const recordOf =
  (item: ShapeCheck): ShapeCheck =>
  (v, key) => {
    if (!isPlainObject(v)) return wrong(key, v, 'an object');
    for (const [name, value] of Object.entries(v)) {
      const problem = item(value, `${key}.${name}`);
      if (problem) return problem;
    }
    return undefined;
  };

/** ygg's own keys under `metadata.ygg`: ygg never writes `null` there, so null is wrong too. */
export const yggFieldChecks: Record<string, ShapeCheck> = {
  handler: aString,
  argv: arrayOf(aString),
  simulate_ms: aNumber,
  timeout_ms: aNumber,
  hard_timeout_ms: aNumber,
  attempts: aNumber,
  // Values in the sandbox's units (numbers, true/false, `512M`, `30s`); the attempt checks each.
  limits: recordOf(limitValue),
  attempt: aNumber,
  lease: objectWith(
    {
      owner: aString,
      token: aNumber,
      expires: aString,
      host: aString,
      slot: aNumber,
      type: aString,
      lent: aBoolean,
    },
    ['owner', 'token', 'expires'],
  ),
  next_try_at: aString,
  dead: objectWith({ at: aString, error: aString, attempts: aNumber }),
  retried_at: aString,
  cancelled: objectWith({ at: aString, by: aString }),
  history: arrayOf(
    objectWith({
      attempt: aNumber,
      host: aString,
      type: aString,
      start: aString,
      end: aString,
      outcome: aString,
      error: aString,
      run_ms: aNumber,
    }),
  ),
  boosted: aString,
  unended: arrayOf(objectWith({ host: aString, token: aNumber, attempt: aNumber }, ['host', 'token'])),
  group: aString,
};

const dependency = objectWith(
  {
    issue_id: aString,
    depends_on_id: aString,
    type: aString,
    created_at: orNull(aString),
    created_by: orNull(aString),
    metadata: orNull(aString),
  },
  ['depends_on_id', 'type'],
);

const comment = objectWith({ author: orNull(aString), text: orNull(aString), created_at: orNull(aString) });

/** bd's keys of an issue line (BEADS-FORMAT.md); `metadata` is free-form except `metadata.ygg`. */
const issueFieldChecks: Record<string, ShapeCheck> = {
  id: aString,
  title: aString,
  status: orNull(aString),
  priority: orNull(aNumber),
  description: orNull(aString),
  design: orNull(aString),
  acceptance_criteria: orNull(aString),
  notes: orNull(aString),
  issue_type: orNull(aString),
  assignee: orNull(aString),
  owner: orNull(aString),
  created_by: orNull(aString),
  created_at: orNull(aString),
  updated_at: orNull(aString),
  started_at: orNull(aString),
  closed_at: orNull(aString),
  close_reason: orNull(aString),
  defer_until: orNull(aString),
  labels: orNull(arrayOf(aString)),
  dependencies: orNull(arrayOf(dependency)),
  comments: orNull(arrayOf(comment)),
  pinned: orNull(aBoolean),
  ephemeral: orNull(aBoolean),
};

/**
 * The first key of `task` whose value has a shape ygg cannot use, or undefined when every key it
 * reads is well shaped. Never throws, whatever the JSON. A task with a problem is not ready (it
 * cannot run) and ygg does not change its line; the key and message say what to fix by hand.
 * A custom string `status` is valid (simply not ready); a status that is not a string is not.
 */
export function taskShapeProblem(task: unknown, yggKnownGood = false): ShapeProblem | undefined {
  if (!isPlainObject(task)) return { key: '', message: `the line is ${describe(task)}, expected an object` };
  const top = membersProblem(task, issueFieldChecks, '');
  if (top) return top;
  const metadata = task.metadata;
  if (!isPlainObject(metadata) || metadata.ygg === undefined) return undefined;
  if (!isPlainObject(metadata.ygg)) return wrong('metadata.ygg', metadata.ygg, 'an object');
  if (yggKnownGood) return undefined;
  return membersProblem(metadata.ygg, yggFieldChecks, 'metadata.ygg');
}
