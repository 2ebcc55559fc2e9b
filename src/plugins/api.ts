/**
 * The handler plugin API. A plugin module has a named export `plugin` of type `Plugin`.
 * Built-ins in plugins/ are written against exactly this API, as users' plugins are.
 */
import type { HostConfig } from '../config/types.js';
import type { ExecOptions, ExecResult } from '../hosts/transport.js';
import type { OnnxFunction, PolicyHandle } from '../pipeline/rollout-types.js';
import type { ToolFunction } from '../pipeline/tool-function.js';
import type { TrajectoryRecorder } from '../pipeline/trajectory.js';
import type { Task } from '../store/task.js';
import type { Llm } from './llm.js';

export interface HandlerLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** What later parts add to a handler's context; each is there only where it applies. */
export interface HandlerExtensions {
  /** The host's model endpoint (the model handlers; set when the host serves one). */
  llm?: Llm;
  /** Run a tool on a `tools` host, the task's GPU slot lent meanwhile (hosts.yaml `tools:`). */
  tool?: ToolFunction;
  /** Run an ONNX model with onnxruntime-node (CPU). */
  onnx?: OnnxFunction;
  /** A rollout's policy version and checkpoint. */
  policy?: PolicyHandle;
  /** A rollout's trajectory: record steps, or mark it failed. */
  trajectory?: TrajectoryRecorder;
}

export interface HandlerContext extends HandlerExtensions {
  /** Aborts on soft timeout, cancellation, shutdown or a lost lease. Honour it. */
  signal: AbortSignal;
  log: HandlerLogger;
  /** The host the task was routed to. */
  host: HostConfig;
  /** 1-based attempt number. */
  attempt: number;
  /** The task's type, as routing saw it. */
  type: string;
  /** GPU indices the held slot is bound to, when the host binds slots to GPUs. */
  gpu?: number[];
  /** Per-attempt folder for files the handler produces (on this machine), made when first read. */
  artifactsDir: string;
  /** Run a command on the task's host (argv, never a shell string). */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Report progress: shown in the monitor and kept in the task's log. */
  progress(text: string, fraction?: number): void;
  /** Tell ygg the handler is alive (renews the lease early). */
  heartbeat(): void;
}

export interface HandlerResult {
  /** A short text for the result comment. */
  summary?: string;
  /** Longer output; bounded in the comment, kept whole as an artifact when long. */
  output?: string;
  /** Files the handler wrote, relative to artifactsDir or absolute. */
  artifacts?: string[];
  /** Kept under `metadata.ygg.result` on the task. */
  metadata?: Record<string, unknown>;
}

export interface Plugin {
  name: string;
  /** Types this plugin handles when a task names no handler. */
  types: string[];
  run(task: Task, ctx: HandlerContext): Promise<HandlerResult | string | undefined>;
  /** It asks its host's model endpoint (`ctx.llm`): a host without one cannot run it. */
  needsModel?: boolean;
  /** Defaults, overridden by type config and then by the task. */
  timeoutMs?: number;
  hardTimeoutMs?: number;
  attempts?: number;
}
