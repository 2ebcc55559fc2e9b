/**
 * LISTENs for other writers' commits on a dedicated connection, and polls slowly as a safety
 * net; reconnects when the database goes away (and asks for a catch-up when it is back).
 */
import pg from 'pg';
import { changeChannel, settingsChannel } from './rows.js';

export interface ChangeListenerOptions {
  url: string;
  pollIntervalMs: number;
  /**
   * Something may have changed: catch up. `revision`: a commit's NOTIFY says which revision it
   * wrote (a store that has it already need not look); absent (the poll, a reconnect): look.
   */
  onChange(revision?: number): void;
  /** A shared setting may have changed (its NOTIFY, a reconnect, the poll). */
  onSetting?(): void;
  /** The connection was lost or came back (for the log; the message has no password). */
  onState?(state: 'lost' | 'back'): void;
}

export class ChangeListener {
  #client: pg.Client | undefined;
  #poll: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  #lost = false;

  constructor(readonly options: ChangeListenerOptions) {}

  start(): void {
    this.#poll = setInterval(() => {
      this.options.onChange();
      this.options.onSetting?.();
    }, this.options.pollIntervalMs);
    this.#poll.unref();
    void this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.options.url });
    const lost = () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (!this.#lost) {
        this.#lost = true;
        this.options.onState?.('lost');
      }
      if (!this.#stopped) {
        this.#retry = setTimeout(() => void this.#connect(), 1000);
        this.#retry.unref();
      }
    };
    this.#client = client;
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel === settingsChannel) this.options.onSetting?.();
      else this.options.onChange(revisionIn(message.payload));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${changeChannel}; LISTEN ${settingsChannel}`);
    } catch {
      lost();
      return;
    }
    if (this.#lost) {
      this.#lost = false;
      this.options.onState?.('back');
    }
    // Commits made while we were not listening.
    this.options.onChange();
    this.options.onSetting?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#poll);
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}

/** The revision a commit's NOTIFY carries, when its payload is one. */
function revisionIn(payload: string | undefined): number | undefined {
  const revision = Number(payload);
  return payload && Number.isSafeInteger(revision) ? revision : undefined;
}
