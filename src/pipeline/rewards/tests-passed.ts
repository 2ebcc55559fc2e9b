/**
 * `tests_passed`: the fraction of tests the trajectory's last `run_tests` call passed. It reads a
 * `passed N failed M` line (the last one; pytest's `N passed, M failed` too) from the tool's
 * output; without one, exit code 0 is 1 and anything else 0.
 */
import type { ToolOutputSummary, Trajectory } from '../trajectory.js';
import type { RewardPlugin } from './api.js';

const wordsFirst = /passed\W{0,3}(\d+)\W{1,4}failed\W{0,3}(\d+)/gi;
const numbersFirst = /(\d+) passed(?:\W{1,4}(\d+) failed)?/gi;

function lastMatch(pattern: RegExp, text: string): RegExpMatchArray | undefined {
  let last: RegExpMatchArray | undefined;
  for (const match of text.matchAll(pattern)) last = match;
  return last;
}

/** The fraction passed in a tool's output, or undefined when it prints no totals. */
export function parsePassedFraction(output: string): number | undefined {
  const match = lastMatch(wordsFirst, output) ?? lastMatch(numbersFirst, output);
  if (!match) return undefined;
  const passed = Number(match[1]);
  const failed = Number(match[2] ?? 0);
  return passed + failed === 0 ? 0 : passed / (passed + failed);
}

export function testsPassedScore(result: ToolOutputSummary | undefined): number {
  if (!result?.ok) return 0;
  const fraction = parsePassedFraction(`${result.stdoutTail}\n${result.stderrTail}`);
  if (fraction !== undefined) return fraction;
  return result.code === 0 ? 1 : 0;
}

export function testsPassedReward(options: { tool?: string } = {}): RewardPlugin {
  const toolName = options.tool ?? 'run_tests';
  return {
    name: 'tests_passed',
    score(trajectory: Trajectory): number {
      const results = trajectory.steps.flatMap((s) => (s.tool?.tool === toolName ? [s.tool] : []));
      return testsPassedScore(results.at(-1));
    },
  };
}
