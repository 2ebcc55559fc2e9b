/** How ygg runs a command on a host: the same API for the local machine and for SSH hosts. */

export type LimitReason = 'time' | 'memory' | 'cpu' | 'file-size' | 'disk' | 'processes' | 'cancelled';

export interface SandboxRequest {
  network?: boolean;
  memoryBytes?: number;
  cpuSeconds?: number;
  fileSizeBytes?: number;
  processes?: number;
  tmpBytes?: number;
  /** Size of the work directory ygg makes (ignored when `workdir` is given). */
  diskBytes?: number;
  /** Cores the command may use at most, where the host has a cgroup CPU controller. */
  cpuShare?: number;
  /** Variables set in the sandbox (hosts.yaml's `sandbox.env` otherwise); nothing else is inherited. */
  env?: Record<string, string>;
  /** Writable work directory on the host; created when missing. */
  workdir?: string;
  /** Let the command see the GPUs (device nodes). */
  gpu?: boolean;
  /** Use bubblewrap where the host has it (the host's `sandbox.enabled` otherwise). */
  enabled?: boolean;
  /** Unprivileged user to drop to when ygg logs in as root (the host's `sandbox.run_as` otherwise). */
  runAs?: string;
  /** Parent of the work directory ygg makes when `workdir` is not given (the host's `sandbox.work_root` otherwise). */
  workRoot?: string;
  /** false: no cgroup of its own even where the host offers one (the host's `sandbox.cgroup` otherwise). */
  cgroup?: boolean;
  /**
   * The slot the command's attempt holds on the host: where the host has no cgroup for it but a
   * user per slot (`ygg-slot-N`), it runs as its slot's user, so its process count is its slot's.
   */
  slot?: number;
}

export interface ExecOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string | Buffer;
  signal?: AbortSignal;
  /** Wall-clock bound; the whole process group is killed past it. */
  timeoutMs?: number;
  /** Captured bytes kept per stream (default 1 MiB); the rest is counted, not kept. */
  maxOutputBytes?: number;
  /** Streaming output, as it arrives. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Run inside the host's sandbox; `true` uses the host's defaults. */
  sandbox?: boolean | SandboxRequest;
}

export interface ExecResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  /** Which limit ended the command, when one did. */
  limit?: LimitReason;
  /** That limit in plain words ("stopped: it used up its 10 s of CPU time"). */
  limitMessage?: string;
  /** Protections in force for a sandboxed command, in plain words. */
  protections?: string[];
}

export interface Transport extends AsyncDisposable {
  readonly kind: 'local' | 'ssh';
  readonly hostName: string;
  /** Run an argv (never a shell string). Rejects only when the host cannot be reached. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  put(localPath: string, remotePath: string): Promise<void>;
  get(remotePath: string, localPath: string): Promise<void>;
  /** A cheap round trip; rejects when the host is unreachable. */
  probe(signal?: AbortSignal): Promise<{ latencyMs: number }>;
  close(): Promise<void>;
}

/** The host could not be reached (as opposed to a command that ran and failed). */
export class HostUnreachableError extends Error {
  override readonly name: string = 'HostUnreachableError';
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
