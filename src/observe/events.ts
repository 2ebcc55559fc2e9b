import { EventEmitter } from 'node:events';

/** Every event ygg emits, with its payload. Logs, metrics, the status server and tests listen. */
export interface YggEvents {
  /** A command on this machine handed the task to this loop (the add intake), which wrote it. */
  'task:added': { taskId: string; via: 'intake' };
  'task:ready': { taskId: string; type: string; priority: number };
  'task:unroutable': { taskId: string; type: string; reason: string };
  'task:claimed': { taskId: string; type: string; host: string; attempt: number; waitMs: number };
  'task:started': { taskId: string; type: string; host: string; attempt: number; handler: string };
  'task:progress': { taskId: string; host: string; attempt: number; text: string; fraction?: number };
  'task:succeeded': { taskId: string; type: string; host: string; attempt: number; runMs: number };
  'task:failed': {
    taskId: string;
    type: string;
    host: string;
    attempt: number;
    runMs: number;
    error: string;
    reason: FailureReason;
  };
  'task:retry': { taskId: string; type: string; attempt: number; nextTryAt: string; delayMs: number };
  'task:dead': { taskId: string; type: string; attempts: number; error: string };
  'task:cancelled': { taskId: string; type: string; host: string; attempt: number; by: string };
  'task:lost': { taskId: string; reason: string };
  /** An attempt its dead loop left running on a host was ended there before the task ran again. */
  'task:earlier-ended': { taskId: string; host: string; attempt: number; processes: number };
  /** Such an attempt could not be ended (its host unreachable): the task waits and tries again. */
  'task:earlier-waiting': { taskId: string; host: string; attempt: number; error: string };
  'host:up': { host: string };
  'host:down': { host: string; error: string };
  'host:drain': { host: string; draining: boolean };
  /** An attempt could not reach its host: probe it now rather than on its interval. */
  'host:unreachable': { host: string; error: string };
  'slots:changed': { host: string; used: number; total: number; effective: number };
  'gpu:sample': { host: string; gpus: GpuSample[] };
  'queue:paused': { paused: boolean };
  /** A store over the network went away (claiming pauses) or came back (`since`: when it went). */
  'store:connection': { state: 'lost' | 'back'; since?: string };
  'config:reloaded': { path: string };
  'config:invalid': { path: string; errors: string[] };
  'loop:state': { state: 'starting' | 'running' | 'stopping' | 'stopped' };
  'tool:called': { taskId: string; tool: string; host: string; cached: boolean; ms: number; ok: boolean };
  'policy:published': { version: number; batchSize: number; meanReward: number };
  'trajectory:recorded': { id: string; taskId: string; policyVersion: number; ok: boolean; reward?: number };
  /** Trajectories dropped from a batch as too old (`ygg_stale_trajectories_total`). */
  'trajectory:stale': { count: number; policyVersion: number; total: number };
  'learner:state': { host: string; state: LearnerState; detail?: string };
  'listener:error': { event: string; error: string };
}

/** `waiting-host`: its pinned host is down; `waiting-batch`: too few fresh trajectories. */
export type LearnerState = 'idle' | 'waiting-host' | 'waiting-batch' | 'training' | 'stopped';

export type FailureReason = 'error' | 'timeout' | 'hard-timeout' | 'cancelled' | 'host-down' | 'lease-lost';

export interface GpuSample {
  index: number;
  name?: string;
  utilization?: number; // 0..1, undefined when unknown
  memoryUsedBytes?: number;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  temperatureC?: number;
}

export type YggEventName = keyof YggEvents;

/**
 * A typed event bus. A listener that throws cannot break the emitter: the error is reported as
 * `listener:error` (and swallowed if that listener throws too).
 */
export class EventBus {
  readonly #emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  on<E extends YggEventName>(event: E, listener: (payload: YggEvents[E]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  /** Listen to every event; returns an unsubscribe function. */
  onAny(listener: <E extends YggEventName>(event: E, payload: YggEvents[E]) => void): () => void {
    const wrapped = (event: YggEventName, payload: unknown) =>
      listener(event, payload as YggEvents[typeof event]);
    this.#emitter.on('*', wrapped);
    return () => this.#emitter.off('*', wrapped);
  }

  emit<E extends YggEventName>(event: E, payload: YggEvents[E]): void {
    for (const listener of this.#emitter.listeners(event)) this.#call(event, listener, [payload]);
    for (const listener of this.#emitter.listeners('*')) this.#call(event, listener, [event, payload]);
  }

  // biome-ignore lint/complexity/noBannedTypes: EventEmitter hands listeners back as Function.
  #call(event: string, listener: Function, args: unknown[]): void {
    try {
      const result = (listener as (...a: unknown[]) => unknown)(...args);
      if (result instanceof Promise)
        result.catch((error: unknown) => this.#reportListenerError(event, error));
    } catch (error) {
      this.#reportListenerError(event, error);
    }
  }

  #reportListenerError(event: string, error: unknown): void {
    if (event === 'listener:error') return;
    const message = error instanceof Error ? error.message : String(error);
    this.emit('listener:error', { event, error: message });
  }
}
