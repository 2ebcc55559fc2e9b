/**
 * A real `ygg loop` child process whose structured log (JSON lines on stdout, `--log-level info`)
 * is kept and parsed, for tests that judge what several loops did from what they logged.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { onTestFinished } from 'vitest';
import { yggBin } from './cli.js';

/** One line of a loop's JSON log: pino's fields plus the event's (`task_id`, `host`, `run_ms`...). */
export interface LogLine {
  time: string;
  pid: number;
  level: number;
  event?: string;
  task_id?: string;
  host?: string;
  attempt?: number;
  run_ms?: number;
  state?: string;
  [key: string]: unknown;
}

export interface LoopProcess {
  child: ChildProcess;
  /** Log lines so far (lines that are not JSON are skipped). */
  lines(): LogLine[];
  stderr(): string;
  /** Resolves with the first log line (past or future) matching; rejects after `ms` or on exit. */
  logged(match: (line: LogLine) => boolean, ms?: number): Promise<LogLine>;
  /** Whether the process is still running. */
  running(): boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful stop), then waits for the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `ygg loop --no-status --log-level info ARGS` in `dir`. Killed (SIGKILL after a graceful
 * try) when the test ends, so a failing test leaves no process behind.
 */
export function spawnLoop(
  dir: string,
  args: string[] = [],
  options: { cwd?: string; env?: Record<string, string> } = {},
): LoopProcess {
  if (options.cwd) mkdirSync(options.cwd, { recursive: true });
  const child = spawn(process.execPath, [yggBin, 'loop', '--no-status', '--log-level', 'info', ...args], {
    cwd: options.cwd ?? dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  const parsed: LogLine[] = [];
  const listeners = new Set<() => void>();
  let partial = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const complete = partial.split('\n');
    partial = complete.pop() ?? '';
    for (const text of complete) {
      if (!text.trim()) continue;
      try {
        parsed.push(JSON.parse(text) as LogLine);
      } catch {
        // not a log line (the loop writes nothing else to stdout; keep going regardless)
      }
    }
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const listener of listeners) listener();
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) child.kill('SIGTERM');
    return exited;
  };
  onTestFinished(async () => {
    if (!running()) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
  });
  const logged = (match: (line: LogLine) => boolean, ms = 30_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = parsed.find(match);
        if (found) return done(() => resolve(found));
        if (!running())
          done(() => reject(new Error(`loop exited before logging what was awaited; stderr:\n${stderr}`)));
      };
      const timer = setTimeout(
        () =>
          done(() => reject(new Error(`loop did not log what was awaited in ${ms} ms; stderr:\n${stderr}`))),
        ms,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  return { child, lines: () => parsed, stderr: () => stderr, logged, running, exited, stop };
}

/** One attempt as the loops logged it: the handler ran on `host` from `start` to `end` (ms epoch). */
export interface LoggedAttempt {
  taskId: string;
  host: string;
  attempt: number;
  pid: number;
  start: number;
  end: number;
}

/**
 * Attempts that succeeded, from `task:started` (when the handler began, to the ms) and the
 * handler's own run time in `task:succeeded` (`run_ms`). The success line's own time is not used:
 * the outcome is written after the host's work is over, so it may follow the next start.
 */
export function succeededAttempts(lines: readonly LogLine[]): LoggedAttempt[] {
  const key = (l: LogLine) => `${l.pid} ${l.task_id} ${l.attempt}`;
  const starts = new Map<string, LogLine>();
  for (const l of lines) if (l.event === 'task:started') starts.set(key(l), l);
  const attempts: LoggedAttempt[] = [];
  for (const l of lines) {
    if (l.event !== 'task:succeeded') continue;
    const started = starts.get(key(l));
    if (!started) throw new Error(`task:succeeded without task:started: ${JSON.stringify(l)}`);
    const start = Date.parse(started.time);
    attempts.push({
      taskId: String(l.task_id),
      host: String(started.host),
      attempt: Number(l.attempt),
      pid: l.pid,
      start,
      end: start + Number(l.run_ms),
    });
  }
  return attempts;
}

/**
 * The most attempts that ran at once among `attempts`. Log times are whole milliseconds, so two
 * runs that touch within `toleranceMs` are not counted as overlapping (a real overlap of two
 * one-second tasks is hundreds of ms).
 */
export function mostAtOnce(attempts: readonly LoggedAttempt[], toleranceMs = 20): number {
  let most = 0;
  for (const a of attempts) {
    const atOnce = attempts.filter((b) => b.start <= a.start && a.start < b.end - toleranceMs).length;
    most = Math.max(most, atOnce);
  }
  return most;
}
