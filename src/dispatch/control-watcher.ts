/**
 * The operator switches as a loop sees them (`ygg pause`, `resume`, `hosts drain`): read from the
 * control file (or the store's shared state) at start, on each change of it and on the loop's poll; a change is told on the bus.
 */
import type { EventBus } from '../observe/events.js';
import { type ControlPlace, type ControlState, readControl, watchControl } from './control.js';

export class ControlWatcher {
  #state: ControlState = { paused: false, drained: [] };
  #unwatch: (() => void) | undefined;

  constructor(
    readonly place: ControlPlace,
    readonly bus: EventBus,
    /** Called after every read, changed or not (the loop looks at its queue again). */
    readonly onRead: () => void,
  ) {}

  get state(): ControlState {
    return this.#state;
  }

  async start(): Promise<void> {
    this.#state = await readControl(this.place);
    // Paused before this loop started: told like a change, so the loop says why it starts nothing.
    if (this.#state.paused) this.bus.emit('queue:paused', { paused: true });
    this.#unwatch = watchControl(this.place, () => void this.reload());
  }

  async reload(): Promise<void> {
    let next: ControlState;
    try {
      next = await readControl(this.place);
    } catch {
      // A database store that is away: keep the switches as last read; its return reloads them.
      return;
    }
    const before = this.#state;
    this.#state = next;
    if (before.paused !== next.paused) this.bus.emit('queue:paused', { paused: next.paused });
    for (const host of new Set([...before.drained, ...next.drained])) {
      const was = before.drained.includes(host);
      const is = next.drained.includes(host);
      if (was !== is) this.bus.emit('host:drain', { host, draining: is });
    }
    this.onRead();
  }

  stop(): void {
    this.#unwatch?.();
  }
}
