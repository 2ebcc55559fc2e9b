/** What one rollout did: its steps, the policy version it ran under, timings, and its reward. */
import { plural } from '../text/plural.js';

/** The part of a tool result a trajectory keeps (bounded, so the log stays small). */
export interface ToolOutputSummary {
  tool: string;
  /** False when no tools host could run it (the call's error is in `error`). */
  ok: boolean;
  code: number | null;
  /** The end of stdout (where test runners print their totals), bounded. */
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
  cached: boolean;
  host?: string;
  error?: string;
}

export interface TrajectoryStep {
  /** What the policy saw (for the learner: e.g. features of each candidate). */
  state: unknown;
  /** What it chose (e.g. `{ index, probability }`). */
  action: unknown;
  tool?: ToolOutputSummary;
  /** Milliseconds since the trajectory started. */
  atMs: number;
}

export interface Trajectory {
  id: string;
  taskId: string;
  /** Trajectories sharing a group (by default the task) are compared for reward variance. */
  group: string;
  /** The policy version the rollout was admitted under. */
  policyVersion: number;
  host?: string;
  /** ISO times. */
  admittedAt: string;
  startedAt: string;
  endedAt: string;
  steps: TrajectoryStep[];
  /** `failed`: the rollout could not finish (e.g. a tool had no host); not trained on. */
  status: 'ok' | 'failed';
  error?: string;
  /** Combined reward, once scored. */
  reward?: number;
  /** Each reward plugin's score. */
  rewards?: Record<string, number>;
}

const tailLimit = 2000;

/** Keep the end of a long text: test runners print their totals last. */
export function tail(text: string, limit = tailLimit): string {
  return text.length <= limit ? text : `…${text.slice(text.length - limit + 1)}`;
}

export interface RecorderOptions {
  id: string;
  taskId: string;
  policyVersion: number;
  group?: string;
  host?: string;
  /** When the rollout was admitted (queue time counts toward staleness). */
  admittedAt?: Date;
  now?: () => number;
}

/** Builds a trajectory step by step while a handler runs. */
export class TrajectoryRecorder {
  readonly #options: RecorderOptions;
  readonly #now: () => number;
  readonly #start: number;
  readonly #steps: TrajectoryStep[] = [];
  #error: string | undefined;

  constructor(options: RecorderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#start = this.#now();
  }

  step(state: unknown, action: unknown, tool?: ToolOutputSummary): void {
    this.#steps.push({ state, action, ...(tool ? { tool } : {}), atMs: this.#now() - this.#start });
  }

  /** Mark the trajectory failed (it is recorded, but not trained on). */
  fail(error: string): void {
    this.#error = error;
  }

  get failed(): boolean {
    return this.#error !== undefined;
  }

  finish(): Trajectory {
    const o = this.#options;
    const startedAt = new Date(this.#start).toISOString();
    return {
      id: o.id,
      taskId: o.taskId,
      group: o.group ?? o.taskId,
      policyVersion: o.policyVersion,
      ...(o.host ? { host: o.host } : {}),
      admittedAt: o.admittedAt?.toISOString() ?? startedAt,
      startedAt,
      endedAt: new Date(this.#now()).toISOString(),
      steps: [...this.#steps],
      status: this.#error === undefined ? 'ok' : 'failed',
      ...(this.#error === undefined ? {} : { error: this.#error }),
    };
  }
}

/** A short text for the task's result comment. */
export function summarizeTrajectory(t: Trajectory): string {
  const tools = t.steps.flatMap((s) => (s.tool ? [s.tool] : []));
  const toolText = tools.map((x) => `${x.tool}${x.ok ? `=${x.code}` : ' failed'}`).join(', ');
  const reward = t.reward === undefined ? 'unscored' : `reward ${t.reward.toFixed(3)}`;
  const ms = Date.parse(t.endedAt) - Date.parse(t.startedAt);
  return [
    `trajectory ${t.id}: ${t.status}, policy v${t.policyVersion}, ${plural(t.steps.length, 'step')}, ${reward}, ${ms} ms`,
    toolText ? `tools: ${toolText}` : '',
    t.error ? `error: ${t.error}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
