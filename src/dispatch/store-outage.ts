/**
 * A store over the network (PostgreSQL) going away and coming back, as the loop sees it: told
 * on the bus (the log, the monitor and the web view say it), and the loop looks at its queue
 * again. While it is away the loop claims nothing (see `Loop`'s pass): a claim could not be
 * written, and trying each pass would only fill the log.
 */
import type { EventBus } from '../observe/events.js';
import type { TaskStore } from '../store/store.js';

export function watchStoreConnection(
  store: Pick<TaskStore, 'connection'>,
  bus: EventBus,
  kick: () => void,
): () => void {
  const connection = store.connection;
  if (!connection) return () => undefined;
  const tell = () => {
    const since = connection.lostSince;
    bus.emit(
      'store:connection',
      since === undefined ? { state: 'back' } : { state: 'lost', since: new Date(since).toISOString() },
    );
    kick();
  };
  if (connection.lostSince !== undefined) tell();
  return connection.onChange(tell);
}

/** Whether the loop may claim now as far as the store goes: not while it cannot be reached. */
export const storeReachable = (store: Pick<TaskStore, 'connection'>): boolean =>
  store.connection?.lostSince === undefined;
