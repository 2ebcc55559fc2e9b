/**
 * Features of a (program, patch) pair for the linear policy: how the patch changes counts of
 * idioms in the program (consistent ones like `let p = 1` before `p *=`, suspicious ones like
 * `i <= xs.length`), and which kind of line it touches. Nothing here knows which patch is right;
 * the policy has to learn which changes tend to pass the tests.
 */
import type { Patch, Problem } from './problems.js';

type Detector = (line: string, fn: string) => boolean;

const isMax = (fn: string) => /max/i.test(fn);
const isMin = (fn: string) => /min|below/i.test(fn);

const idioms: Record<string, Detector> = {
  arrayLoopCanonical: (l) => /i < xs\.length;/.test(l),
  arrayLoopOverrun: (l) => /i <= xs\.length/.test(l),
  arrayLoopShort: (l) => /xs\.length - 1/.test(l),
  countLoopInclusive: (l) => /i <= n;/.test(l),
  countLoopExclusive: (l) => /i < n;/.test(l),
  arrayLoopFromZero: (l, fn) => /let i = 0; i < xs/.test(l) && !isMax(fn) && !/minOf/.test(fn),
  arrayLoopFromOne: (l, fn) => /let i = 1; i < xs/.test(l) && !isMax(fn) && !/minOf/.test(fn),
  accumulateConsistent: (l) => /\b(s|c) \+= |\b(p|f) \*= /.test(l),
  accumulateInconsistent: (l) => /\b(s|c) (-|\*)= |\b(p|f) (\+|-)= /.test(l),
  initIdentity: (l) => /let (s|c) = 0;|let (p|f) = 1;/.test(l),
  initOff: (l) => /let (s|c) = 1;|let (p|f) = 0;/.test(l),
  compareConsistent: (l, fn) => (isMax(fn) && /> m\)/.test(l)) || (isMin(fn) && /< (m|t)\)/.test(l)),
  compareInconsistent: (l, fn) => (isMax(fn) && /< m\)/.test(l)) || (isMin(fn) && /> (m|t)\)/.test(l)),
};

const touches: Record<string, (line: string) => boolean> = {
  touchesLoop: (l) => /^\s*for \(/.test(l),
  touchesCondition: (l) => /^\s*if \(/.test(l),
  touchesAccumulator: (l) => /[+\-*]= /.test(l),
  touchesInit: (l) => /^\s*let /.test(l),
};

export const featureNames = [...Object.keys(idioms), 'cosmeticOnly', ...Object.keys(touches)];
export const featureCount = featureNames.length;

function idiomCounts(lines: readonly string[], fn: string): number[] {
  return Object.values(idioms).map((detect) => lines.filter((l) => detect(l, fn)).length);
}

const stripComment = (line: string) => line.replace(/\s*\/\/.*$/, '');

export function applyPatch(source: readonly string[], patch: Patch): string[] {
  const lines = [...source];
  lines[patch.line] = patch.text;
  return lines;
}

export function patchFeatures(problem: Problem, patch: Patch): number[] {
  const before = idiomCounts(problem.source, problem.fn);
  const after = idiomCounts(applyPatch(problem.source, patch), problem.fn);
  const original = problem.source[patch.line] ?? '';
  const cosmetic = stripComment(original) === stripComment(patch.text) ? 1 : 0;
  return [
    ...after.map((n, i) => n - before[i]!),
    cosmetic,
    ...Object.values(touches).map((t) => (t(original) ? 1 : 0)),
  ];
}

/** One row per candidate, in candidate order. */
export function candidateFeatures(problem: Problem): number[][] {
  return problem.candidates.map((c) => patchFeatures(problem, c));
}
