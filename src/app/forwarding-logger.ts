import type { HandlerLogger } from '../plugins/api.js';

type Line = (obj: object | string, msg?: string) => void;

/**
 * A logger for the loop, its runner and the handlers, built before the logger it writes to (the
 * observers start after the loop exists, so that they miss none of its events): lines go to
 * `target` once it is set, and nowhere before.
 */
export class ForwardingLogger implements HandlerLogger {
  target: HandlerLogger | undefined;

  debug: Line = (obj, msg) => this.#to('debug', obj, msg);
  info: Line = (obj, msg) => this.#to('info', obj, msg);
  warn: Line = (obj, msg) => this.#to('warn', obj, msg);
  error: Line = (obj, msg) => this.#to('error', obj, msg);

  #to(level: keyof HandlerLogger, obj: object | string, msg?: string): void {
    const target = this.target;
    if (!target) return;
    if (typeof obj === 'string') target[level](obj);
    else target[level](obj, msg);
  }
}
