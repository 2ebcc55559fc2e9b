/** Feeds the durable counters from the loop's events: starts, successes (and evaluations), failures. */
import { submitterOf, type Task } from '../store/task.js';
import { isEvalType } from './counters.js';
import type { EventBus } from './events.js';
import type { CounterBook } from './store-counters.js';

export interface CounterFeedOptions {
  bus: EventBus;
  counters: CounterBook;
  /** The task of an event (its submitter), from the store. */
  task(id: string): Task | undefined;
  /** Types counted as evaluations; default: names with eval or grader. */
  evalTypes?: () => readonly string[] | undefined;
  /** A write that failed (the changes are kept and tried again with the next). */
  onError?: (error: unknown) => void;
}

export interface CounterFeed {
  /** Stops listening and writes what is queued. */
  close(): Promise<void>;
}

export function feedCounters(options: CounterFeedOptions): CounterFeed {
  const { bus, counters } = options;
  let scheduled = false;
  const submitter = (id: string) => {
    const task = options.task(id);
    return task ? submitterOf(task) : 'anonymous';
  };
  const soon = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      counters.flush().catch((error: unknown) => options.onError?.(error));
    });
  };
  const offs = [
    bus.on('task:started', (e) => {
      counters.add({ submitter: submitter(e.taskId), type: e.type, field: 'attempts' });
      soon();
    }),
    bus.on('task:succeeded', (e) => {
      const who = submitter(e.taskId);
      counters.add({ submitter: who, type: e.type, field: 'successes' });
      if (isEvalType(e.type, options.evalTypes?.()))
        counters.add({ submitter: who, type: e.type, field: 'evaluations' });
      soon();
    }),
    bus.on('task:failed', (e) => {
      // An attempt interrupted by a shutdown is not a failure of the task: it runs again later.
      if (e.reason === 'cancelled') return;
      counters.add({ submitter: submitter(e.taskId), type: e.type, field: 'failures' });
      soon();
    }),
  ];
  return {
    async close() {
      for (const off of offs) off();
      await counters.flush().catch((error: unknown) => options.onError?.(error));
    },
  };
}
