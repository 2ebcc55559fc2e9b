import { type ChildProcess, spawn } from 'node:child_process';
import { access, copyFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BoundedOutput, defaultMaxOutputBytes } from './output-buffer.js';
import type { ExecOptions, ExecResult, LimitReason, Transport } from './transport.js';

/** Seconds between SIGTERM to the process group and SIGKILL. */
const killGraceMs = 2000;

/**
 * Runs commands on this machine. Each command leads its own process group, so a timeout or a
 * cancellation ends everything it started, not only the first process.
 */
export class LocalTransport implements Transport {
  readonly kind = 'local' as const;

  constructor(
    readonly hostName: string,
    /** Wraps an argv in the host's sandbox, when the command asks for one. */
    private readonly wrap?: (argv: readonly string[], options: ExecOptions) => Promise<WrappedCommand>,
  ) {}

  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new Error('exec needs a command: the argv is empty');
    const wrapped: WrappedCommand =
      options.sandbox && this.wrap
        ? await this.wrap(argv, options)
        : { argv: [...argv], protections: undefined };
    if (wrapped.notStarted !== undefined) return notStarted(wrapped, wrapped.notStarted, options);
    const [command, ...args] = wrapped.argv as [string, ...string[]];
    const started = performance.now();
    const stdout = new BoundedOutput(options.maxOutputBytes ?? defaultMaxOutputBytes);
    const stderr = new BoundedOutput(options.maxOutputBytes ?? defaultMaxOutputBytes);
    const direct = wrapped.spawn;
    const cwd = direct ? direct.cwd : options.cwd;
    const child = spawn(command, args, {
      cwd,
      env: direct ? direct.env : options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ['pipe', 'pipe', 'pipe', ...Array<'pipe'>(direct?.pipes ?? 0).fill('pipe')],
      detached: true,
      ...(direct?.user ? { uid: direct.user.uid, gid: direct.user.gid } : {}),
    });
    let limit: LimitReason | undefined;
    const stopGroup = (reason: LimitReason) => {
      limit ??= reason;
      killGroup(child);
    };
    const onAbort = () => stopGroup('cancelled');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = wrapped.timeoutMs ?? options.timeoutMs;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => stopGroup('time'), timeoutMs);

    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      options.onOutput?.(chunk.toString('utf8'), 'stdout');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      options.onOutput?.(chunk.toString('utf8'), 'stderr');
    });
    child.stdin?.on('error', () => {
      // The command may exit without reading its input; that is not an error of ours.
    });
    child.stdin?.end(options.stdin ?? '');
    const starting = wrapped.started?.(child).catch((error: Error) => `ygg-sandbox: ${error.message}\n`);

    try {
      const ended = await new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
        child.once('error', (error: NodeJS.ErrnoException) => {
          // The program could not be started: answer as a shell would (127, 126), as SSH hosts do.
          if (child.pid === undefined && (error.code === 'ENOENT' || error.code === 'EACCES')) {
            void spawnFailure(error, command, cwd).then((failure) => {
              stderr.push(Buffer.from(failure.message));
              options.onOutput?.(failure.message, 'stderr');
              resolve({ code: failure.code, signal: null });
            });
          } else {
            reject(error);
          }
        });
        // When the leader exits, the command is over: end whatever it left behind in its group,
        // which may still hold the output pipes open and would otherwise delay 'close'.
        child.once('exit', () => killGroup(child, 'SIGKILL'));
        child.once('close', (exitCode, exitSignal) => {
          if (child.pid !== undefined) resolve({ code: exitCode, signal: exitSignal });
        });
      });
      const { signal } = ended;
      let { code } = ended;
      const failedToStart = await starting;
      if (failedToStart) {
        stderr.push(Buffer.from(failedToStart));
        options.onOutput?.(failedToStart, 'stderr');
        code = 125;
      }
      let result: ExecResult = {
        code,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        durationMs: performance.now() - started,
      };
      if (limit) result.limit = limit;
      if (wrapped.classify) result = await wrapped.classify(result);
      return result;
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      await wrapped.cleanup?.().catch(() => undefined);
    }
  }

  async put(localPath: string, remotePath: string): Promise<void> {
    await mkdir(dirname(remotePath), { recursive: true });
    await copyFile(localPath, remotePath);
  }

  async get(remotePath: string, localPath: string): Promise<void> {
    await mkdir(dirname(localPath), { recursive: true });
    await copyFile(remotePath, localPath);
  }

  async probe(): Promise<{ latencyMs: number }> {
    return { latencyMs: 0 };
  }

  async close(): Promise<void> {}

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A command that could not be started, answered as its wrapper shell would (127, 125). */
async function notStarted(
  wrapped: WrappedCommand,
  { code, message }: { code: number; message: string },
  options: ExecOptions,
): Promise<ExecResult> {
  options.onOutput?.(message, 'stderr');
  const result: ExecResult = {
    code,
    signal: null,
    stdout: '',
    stderr: message,
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: 0,
  };
  try {
    return wrapped.classify ? await wrapped.classify(result) : result;
  } finally {
    await wrapped.cleanup?.().catch(() => undefined);
  }
}

/**
 * Why a program could not be started, in a shell's words and exit status: 127 when it does not
 * exist, 126 when it cannot be run or the working directory is missing.
 */
async function spawnFailure(
  error: NodeJS.ErrnoException,
  command: string,
  cwd: string | undefined,
): Promise<{ code: number; message: string }> {
  // Node reports a missing working directory as the program missing.
  if (
    error.code === 'ENOENT' &&
    cwd !== undefined &&
    !(await access(cwd).then(
      () => true,
      () => false,
    ))
  ) {
    return { code: 126, message: `cd: ${cwd}: No such file or directory\n` };
  }
  if (error.code === 'EACCES') return { code: 126, message: `${command}: Permission denied\n` };
  return { code: 127, message: `${command}: command not found\n` };
}

/** A command after sandbox wrapping, with what protects it and how to read why it ended. */
export interface WrappedCommand {
  argv: string[];
  /**
   * Spawned without a wrapper: its whole environment, working directory and user, and how many
   * more pipes it gets from fd 3 on (for `started`).
   */
  spawn?: { env: NodeJS.ProcessEnv; cwd: string; user?: { uid: number; gid: number }; pipes?: number };
  /** The wall-clock bound when the transport's own timer is the only one (spawned directly). */
  timeoutMs?: number;
  /**
   * Answer this without starting anything: a program not on the command's PATH (127, as a shell
   * says it), a sandbox that could not be set up (125, naming the step).
   */
  notStarted?: { code: number; message: string };
  /**
   * Called once the command is spawned (the sandbox holds it until this lets it go); resolves
   * with a message when it could not be let go and was killed instead (the result is then 125).
   */
  started?: (child: ChildProcess) => Promise<string | undefined>;
  protections: string[] | undefined;
  /**
   * The result with the limit that ended the command (`limit`, `limitMessage`) and the
   * protections it had; `result.limit` holds the transport's own timer or cancellation.
   */
  classify?: (result: ExecResult) => Promise<ExecResult>;
  /** Runs after the command (removes the cgroup and work directory the sandbox made). */
  cleanup?: (() => Promise<void>) | undefined;
}

/** SIGTERM the child's whole process group, then SIGKILL it after a grace period. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (child.pid === undefined) return;
  const pid = child.pid;
  try {
    process.kill(-pid, signal);
  } catch {
    return; // the group is gone already
  }
  if (signal === 'SIGTERM') {
    setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, killGraceMs).unref();
  }
}
