/**
 * A family of small buggy JavaScript functions, each with four candidate one-line patches: the
 * true fix, and three that are not (a wrong edit of the buggy line, a new bug elsewhere, a
 * cosmetic change). Tests come from the correct function, so a patch is judged by running them.
 */

export interface TestCase {
  args: unknown[];
  expected: unknown;
}

/** Replace line `line` (0-based) of the source with `text`. */
export interface Patch {
  line: number;
  text: string;
}

export interface Problem {
  id: string;
  fn: string;
  /** The buggy function, one element per line. */
  source: string[];
  tests: TestCase[];
  candidates: Patch[];
  /** Index of the true fix among the candidates (for checks; the policy never sees it). */
  fixIndex: number;
}

interface Template {
  fn: string;
  lines: string[];
  /** Per line: edits that break it (the bugs this family injects). */
  mutants: Record<number, string[]>;
  reference: (...args: never[]) => unknown;
  inputs: unknown[][];
}

const arrays = [[], [4], [3, 1, 2], [5, -2, 7, 0], [1, 1, 2, 3, 5, 8], [-3, -9, -1], [2, 9, -4]];
const numbers = [[0], [1], [3], [5], [7]];

const templates: Template[] = [
  {
    fn: 'sumTo',
    lines: [
      'function sumTo(n) {',
      '  let s = 0;',
      '  for (let i = 1; i <= n; i++) {',
      '    s += i;',
      '  }',
      '  return s;',
      '}',
    ],
    mutants: {
      1: ['  let s = 1;'],
      2: ['  for (let i = 1; i < n; i++) {'],
      3: ['    s -= i;', '    s *= i;'],
    },
    reference: (n: number) => (n * (n + 1)) / 2,
    inputs: numbers,
  },
  {
    fn: 'factorial',
    lines: [
      'function factorial(n) {',
      '  let f = 1;',
      '  for (let i = 2; i <= n; i++) {',
      '    f *= i;',
      '  }',
      '  return f;',
      '}',
    ],
    mutants: { 1: ['  let f = 0;'], 2: ['  for (let i = 2; i < n; i++) {'], 3: ['    f += i;'] },
    reference: (n: number) => {
      let f = 1;
      for (let i = 2; i <= n; i++) f *= i;
      return f;
    },
    inputs: numbers,
  },
  {
    fn: 'sumArray',
    lines: [
      'function sumArray(xs) {',
      '  let s = 0;',
      '  for (let i = 0; i < xs.length; i++) {',
      '    s += xs[i];',
      '  }',
      '  return s;',
      '}',
    ],
    mutants: {
      1: ['  let s = 1;'],
      2: ['  for (let i = 0; i <= xs.length; i++) {', '  for (let i = 1; i < xs.length; i++) {'],
      3: ['    s -= xs[i];'],
    },
    reference: (xs: number[]) => xs.reduce((a, b) => a + b, 0),
    inputs: arrays.map((a) => [a]),
  },
  {
    fn: 'product',
    lines: [
      'function product(xs) {',
      '  let p = 1;',
      '  for (let i = 0; i < xs.length; i++) {',
      '    p *= xs[i];',
      '  }',
      '  return p;',
      '}',
    ],
    mutants: {
      1: ['  let p = 0;'],
      2: ['  for (let i = 1; i < xs.length; i++) {'],
      3: ['    p += xs[i];'],
    },
    reference: (xs: number[]) => xs.reduce((a, b) => a * b, 1),
    inputs: arrays.map((a) => [a]),
  },
  {
    fn: 'countBelow',
    lines: [
      'function countBelow(xs, t) {',
      '  let c = 0;',
      '  for (let i = 0; i < xs.length; i++) {',
      '    if (xs[i] < t) {',
      '      c += 1;',
      '    }',
      '  }',
      '  return c;',
      '}',
    ],
    mutants: {
      1: ['  let c = 1;'],
      2: ['  for (let i = 1; i < xs.length; i++) {'],
      3: ['    if (xs[i] > t) {'],
      4: ['      c -= 1;'],
    },
    reference: (xs: number[], t: number) => xs.filter((x) => x < t).length,
    inputs: arrays.map((a, i) => [a, i - 1]),
  },
  {
    fn: 'maxOf',
    lines: [
      'function maxOf(xs) {',
      '  let m = xs[0];',
      '  for (let i = 1; i < xs.length; i++) {',
      '    if (xs[i] > m) {',
      '      m = xs[i];',
      '    }',
      '  }',
      '  return m;',
      '}',
    ],
    mutants: { 2: ['  for (let i = 1; i < xs.length - 1; i++) {'], 3: ['    if (xs[i] < m) {'] },
    reference: (xs: number[]) => (xs.length === 0 ? undefined : Math.max(...xs)),
    inputs: arrays.slice(1).map((a) => [a]),
  },
  {
    fn: 'minOf',
    lines: [
      'function minOf(xs) {',
      '  let m = xs[0];',
      '  for (let i = 1; i < xs.length; i++) {',
      '    if (xs[i] < m) {',
      '      m = xs[i];',
      '    }',
      '  }',
      '  return m;',
      '}',
    ],
    mutants: { 2: ['  for (let i = 1; i < xs.length - 1; i++) {'], 3: ['    if (xs[i] > m) {'] },
    reference: (xs: number[]) => (xs.length === 0 ? undefined : Math.min(...xs)),
    inputs: arrays.slice(1).map((a) => [a]),
  },
];

/** A small deterministic generator (mulberry32), so a seed names the same problems everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function shuffle<T>(random: () => number, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Problem number `index` of the family drawn from `seed`. */
/**
 * The group of a problem for the replay priority: its function and the bug injected in it, so
 * rollouts of the same bug (whatever its candidate patches) are compared for reward variance.
 */
export function problemGroup(problem: Problem): string {
  const bugLine = problem.candidates[problem.fixIndex]!.line;
  return `${problem.fn}: ${problem.source[bugLine]!.trim()}`;
}

export function makeProblem(seed: number, index: number): Problem {
  const random = seededRandom(seed * 1_000_003 + index);
  const template = pick(random, templates);
  const bugLines = Object.keys(template.mutants).map(Number);
  const bugLine = pick(random, bugLines);
  const bugText = pick(random, template.mutants[bugLine]!);
  const source = [...template.lines];
  source[bugLine] = bugText;

  const fix: Patch = { line: bugLine, text: template.lines[bugLine]! };
  const others: Patch[] = [];
  const alternative = template.mutants[bugLine]!.find((m) => m !== bugText);
  if (alternative) others.push({ line: bugLine, text: alternative });
  for (const line of shuffle(
    random,
    bugLines.filter((l) => l !== bugLine),
  )) {
    if (others.length >= 2) break;
    others.push({ line, text: pick(random, template.mutants[line]!) });
  }
  others.push({ line: bugLine, text: `${bugText} // fixed` });
  const candidates = shuffle(random, [fix, ...others.slice(0, 3)]);
  return {
    id: `${template.fn}-${seed}-${index}`,
    fn: template.fn,
    source,
    tests: template.inputs.map((args) => ({
      args,
      expected: (template.reference as (...a: unknown[]) => unknown)(...args),
    })),
    candidates,
    fixIndex: candidates.indexOf(fix),
  };
}
