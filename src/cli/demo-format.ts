/** What `ygg demo` prints: its header, each run against its bound, the verdict, the timeline. */
import { relative } from 'node:path';
import type { DemoSummary } from '../app/demo.js';
import type { DemoMode, DemoPlan } from '../app/demo-plan.js';
import type { LowerBound } from '../schedule/lower-bound.js';

export interface DemoRun {
  mode: DemoMode;
  summary: DemoSummary;
}

export interface DemoSetup {
  plan: DemoPlan;
  unitMs: number;
  /** The runs to make, in order (two with --compare: legacy, then the concurrent mode). */
  modes: readonly DemoMode[];
  /** The demo's folder, and whether it is removed at the end. */
  folder: { path: string; temporary: boolean };
}

const modeWords: Record<DemoMode, string> = {
  legacy: 'one running task per type, as the Python dispatcher first did',
  async: 'each type on its own host, several tasks at once',
  spill: 'a type may also run on other hosts, its own first',
};

export function formatHeader(setup: DemoSetup): string {
  const { plan, unitMs } = setup;
  const slots = plan.config.hosts.map((h) => `${h.name} ${h.slots}`).join(', ');
  const near = relative(process.cwd(), plan.configPath);
  const where = near && !near.startsWith('..') ? near : plan.configPath;
  const lines = [
    `ygg demo: seed30, 30 tasks (10 code, 10 text, 10 reasoning), 1 unit = ${unitMs} ms of simulated model time`,
    ...setup.modes.map((mode, i) => `${i === 0 ? 'mode' : '    '}      ${mode}: ${modeWords[mode]}`),
    `order     ${plan.order} (${plan.orderFrom === 'option' ? '--order' : 'from the hosts file'})`,
    `hosts     ${where}: ${slots} slots`,
    `store     ${setup.folder.path} (${setup.folder.temporary ? 'temporary: removed at the end' : 'kept'})`,
  ];
  return `${lines.join('\n')}\n\n`;
}

export function boundOf(plan: DemoPlan, mode: DemoMode): LowerBound {
  return mode === 'legacy' ? plan.legacyBound : plan.bound;
}

/** The verdict against the legacy dispatcher: its measured run with --compare, else simulated. */
export interface Verdict {
  legacyMs: number;
  /** true: the legacy run of --compare; false: the Python dispatcher simulated. */
  measured: boolean;
  /** How many times faster than legacy the concurrent run was (absent: only legacy ran). */
  faster?: number;
}

export function verdictOf(setup: DemoSetup, runs: readonly DemoRun[]): Verdict {
  const legacy = runs.find((r) => r.mode === 'legacy');
  const legacyMs = legacy ? legacy.summary.makespanMs : setup.plan.legacySimulated.units * setup.unitMs;
  const concurrent = runs.find((r) => r.mode !== 'legacy');
  return {
    legacyMs,
    measured: legacy !== undefined,
    ...(concurrent && concurrent.summary.makespanMs > 0 && Number.isFinite(legacyMs)
      ? { faster: legacyMs / concurrent.summary.makespanMs }
      : {}),
  };
}

export function formatRuns(setup: DemoSetup, runs: readonly DemoRun[]): string {
  const verdict = verdictOf(setup, runs);
  const width = Math.max(...runs.map((r) => r.mode.length)) + 1;
  const lines: string[] = [];
  for (const run of runs) {
    const bound = boundOf(setup.plan, run.mode);
    const boundMs = bound.units * setup.unitMs;
    const ms = run.summary.makespanMs;
    let line = `${`${run.mode}:`.padEnd(width)} makespan ${s(ms)}, bound ${s(boundMs)} (${(ms / boundMs).toFixed(2)}x the bound)`;
    if (run.mode !== 'legacy' && verdict.faster !== undefined) {
      const legacy = verdict.measured
        ? `legacy ${s(verdict.legacyMs)}`
        : `legacy ${s(verdict.legacyMs)} (simulated)`;
      line += `; ${legacy}: ${verdict.faster.toFixed(1)}x ${verdict.faster >= 1 ? 'faster' : 'as fast'}`;
    }
    lines.push(line);
  }
  lines.push('');
  const bounds = runs.map((r) => ({ mode: r.mode, bound: boundOf(setup.plan, r.mode) }));
  if (!runs.some((r) => r.mode === 'legacy')) bounds.push({ mode: 'legacy', bound: setup.plan.legacyBound });
  for (const { mode, bound } of bounds) {
    lines.push(`${`${mode} bound`.padEnd(13)} ${units(bound.units)} units: ${bound.reason}`);
  }
  const simulated = setup.plan.legacySimulated;
  if (Number.isFinite(simulated.units))
    lines.push(`${'legacy sim'.padEnd(13)} ${units(simulated.units)} units: ${simulated.reason}`);
  if (runs.length === 1 && runs[0]!.mode === 'legacy') {
    const concurrentMs = setup.plan.bound.units * setup.unitMs;
    lines.push(
      `verdict: this is the legacy dispatcher; ${setup.plan.concurrentMode} needs at least ${s(concurrentMs)} here, up to ${(runs[0]!.summary.makespanMs / concurrentMs).toFixed(1)}x faster (--compare runs both)`,
    );
  }
  for (const run of runs) {
    const { summary } = run;
    lines.push('');
    lines.push(
      `${run.mode}: ${summary.closed} of ${summary.tasks} tasks closed, ${summary.dead} dead letters, ${summary.makespanUnits.toFixed(0)} units`,
    );
    lines.push('  host              slots  busy      utilisation');
    for (const h of summary.hosts) {
      lines.push(
        `  ${h.name.padEnd(18)}${String(h.slots).padEnd(7)}${s(h.busyMs).padEnd(10)}${(h.utilisation * 100).toFixed(0)}%`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** --json: the main run's summary (the concurrent one with --compare), its bound and the verdict. */
export function demoJson(setup: DemoSetup, runs: readonly DemoRun[]): Record<string, unknown> {
  const main = runs[runs.length - 1]!;
  const verdict = verdictOf(setup, runs);
  const bound = boundOf(setup.plan, main.mode);
  return {
    ...main.summary,
    mode: main.mode,
    order: setup.plan.order,
    config: setup.plan.configPath,
    bound: {
      ms: bound.units * setup.unitMs,
      units: bound.units,
      reason: bound.reason,
      ratio: main.summary.makespanMs / (bound.units * setup.unitMs),
    },
    legacy: {
      ms: verdict.legacyMs,
      measured: verdict.measured,
      ...(verdict.faster === undefined ? {} : { faster: verdict.faster }),
    },
    ...(runs.length > 1 ? { compare: runs.slice(0, -1).map((r) => ({ mode: r.mode, ...r.summary })) } : {}),
  };
}

function units(n: number): string {
  return n.toFixed(1).replace(/\.0$/, '');
}

function s(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}
