/** The parent's side of the scale bench's dispatcher processes (dispatcher.ts), over IPC. */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FromDispatcher, ToDispatcher } from './dispatcher.js';

/** Compiled, as `ygg loop` runs (scale.ts builds it unless --no-build): not through tsx. */
const script = fileURLToPath(new URL('../../dist-bench/bench/scale-parts/dispatcher.js', import.meta.url));

export class DispatcherProcess {
  readonly child: ChildProcess;
  owner = '';
  /** Successes so far (as last told). */
  done = 0;
  /** Handler starts of reported tasks: id → ms since the epoch (the latest). */
  readonly starts = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  readonly exited: Promise<void>;
  #seen = new Set<string>();
  #stderr = '';

  private constructor(store: string, config: string, machine: string | undefined) {
    this.child = fork(script, [store, config, ...(machine ? [machine] : [])], {
      // YGG_BENCH_CPU_PROF=DIR: each dispatcher writes a CPU profile there when it exits.
      execArgv: process.env.YGG_BENCH_CPU_PROF
        ? ['--cpu-prof', '--cpu-prof-dir', process.env.YGG_BENCH_CPU_PROF]
        : [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-4000);
    });
    this.child.on('message', (message: FromDispatcher) => {
      if (message.ev === 'ready') this.owner = message.owner;
      else if (message.ev === 'start') this.starts.set(message.id, message.at);
      else if (message.ev === 'done') this.done = message.n;
      else if (message.ev === 'seen') this.#seen.add(message.owner);
      for (const listener of this.#listeners) listener();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.exited.then(() => {
      for (const listener of this.#listeners) listener();
    });
  }

  /** Forks a dispatcher (as if on `machine`, when given) and resolves once its loop runs. */
  static async start(store: string, config: string, machine?: string): Promise<DispatcherProcess> {
    if (!existsSync(script))
      throw new Error(`${script} is missing: run the scale bench without --no-build to compile it`);
    const dispatcher = new DispatcherProcess(store, config, machine);
    await dispatcher.until(() => dispatcher.owner !== '', 60_000, 'to start');
    return dispatcher;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Calls `listener` after each message and on exit; returns the way to stop. */
  listen(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once `check` holds (looked at after each message); rejects after `ms` or on exit. */
  until(check: () => boolean, ms: number, what: string): Promise<void> {
    return untilAll([this], check, ms, what);
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** PostgreSQL: resolves once this dispatcher would trust `owner`'s lock going missing. */
  async sees(owner: string): Promise<void> {
    this.#send({ cmd: 'seen', owner });
    await this.until(() => this.#seen.has(owner), 60_000, `to see ${owner}'s lock`);
  }

  async stop(): Promise<void> {
    if (!this.running()) return;
    this.#send({ cmd: 'stop' });
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(killer);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    this.child.kill(signal);
    if (signal === 'SIGKILL') await this.exited;
  }

  #send(message: ToDispatcher): void {
    this.child.send(message);
  }
}

/** Starts `count` dispatchers; `machine(i)` names each one's machine (undefined: this one). */
export function startFleet(
  count: number,
  store: string,
  config: string,
  machine: (i: number) => string | undefined,
): Promise<DispatcherProcess[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => DispatcherProcess.start(store, config, machine(i))),
  );
}

export async function stopFleet(fleet: readonly DispatcherProcess[]): Promise<void> {
  await Promise.all(fleet.map((d) => d.stop()));
}

/**
 * Resolves once `check` holds, looked at whenever a dispatcher of `fleet` tells something;
 * rejects after `ms`, or when one of them exits.
 */
export function untilAll(
  fleet: readonly DispatcherProcess[],
  check: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const stops: Array<() => void> = [];
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      for (const stop of stops) stop();
      settle();
    };
    const look = () => {
      if (check()) return finish(resolve);
      const gone = fleet.find((d) => !d.running());
      if (gone)
        finish(() => reject(new Error(`dispatcher ${gone.pid} exited before ${what}:\n${gone.stderr}`)));
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`not ${what} in ${ms} ms`))), ms);
    for (const d of fleet) stops.push(d.listen(look));
    look();
  });
}
