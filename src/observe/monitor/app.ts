/**
 * The interactive monitor: alternate screen, redraw in place (cursor home, each line cleared to
 * its end, so no flicker), keys for selection, cancel and retry with a y/n confirmation.
 * Terminal streams are passed in; nothing here touches process.stdout directly.
 *
 * States: idle → confirming (c/r on a task) → idle (y runs the action, anything else cancels).
 */
import { emitKeypressEvents } from 'node:readline';
import type { StatusSnapshot } from '../snapshot.js';
import { clampSelection, renderFrame, type Selectable, selectable, type ViewState } from './render.js';

export interface TerminalIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream & {
    columns?: number;
    rows?: number;
    on(event: 'resize', fn: () => void): unknown;
  };
}

export interface MonitorActions {
  cancel(id: string): Promise<void>;
  retry(id: string): Promise<void>;
}

export interface MonitorApp {
  /** Show a new snapshot (`offline` says why it is not live). */
  update(snapshot: StatusSnapshot, offline?: string): void;
  /** Resolves when the user quits. */
  readonly done: Promise<void>;
  /** Leave the alternate screen and restore the terminal (idempotent). */
  close(): void;
}

interface Key {
  name?: string;
  ctrl?: boolean;
  sequence?: string;
}

export function startMonitorApp(io: TerminalIo, actions: MonitorActions, color: boolean): MonitorApp {
  const { input, output } = io;
  const view: ViewState = { selected: 0 };
  let snapshot: StatusSnapshot | undefined;
  let offline: string | undefined;
  let pending: { action: 'cancel' | 'retry'; id: string } | undefined;
  let closed = false;
  let quit: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    quit = resolve;
  });

  const draw = () => {
    if (closed || !snapshot) return;
    const size = { columns: output.columns ?? 80, rows: output.rows ?? 24 };
    const lines = renderFrame(snapshot, { ...view, offline }, size, color);
    output.write(`\x1b[H${lines.join('\x1b[K\r\n')}\x1b[K`);
  };

  const selectedItem = (): Selectable | undefined =>
    snapshot ? selectable(snapshot)[clampSelection(snapshot, view.selected)] : undefined;

  const ask = (action: 'cancel' | 'retry') => {
    const item = selectedItem();
    const wanted = action === 'cancel' ? 'running' : 'dead';
    if (!item || item.kind !== wanted) {
      view.message = action === 'cancel' ? 'select a running task to cancel' : 'select a dead task to retry';
      return;
    }
    pending = { action, id: item.id };
    view.prompt = `${action} ${item.id}? (y/n)`;
  };

  const confirm = (yes: boolean) => {
    const job = pending;
    pending = undefined;
    view.prompt = undefined;
    if (!job || !yes) {
      view.message = 'nothing done';
      return;
    }
    view.message = `${job.action} ${job.id}…`;
    const run = job.action === 'cancel' ? actions.cancel(job.id) : actions.retry(job.id);
    run.then(
      () => {
        view.message = job.action === 'cancel' ? `${job.id} cancelled` : `${job.id} sent back to the queue`;
        draw();
      },
      (error: unknown) => {
        view.message = `${job.action} failed: ${error instanceof Error ? error.message : String(error)}`;
        draw();
      },
    );
  };

  const onKey = (_text: string | undefined, key: Key | undefined) => {
    const name = key?.name ?? _text;
    if (key?.ctrl && name === 'c') return close();
    if (pending) confirm(name === 'y');
    else if (name === 'q' || name === 'escape') return close();
    else if (name === 'up' || name === 'k') view.selected = Math.max(0, view.selected - 1);
    else if (name === 'down' || name === 'j') view.selected++;
    else if (name === 'c') ask('cancel');
    else if (name === 'r') ask('retry');
    if (snapshot) view.selected = clampSelection(snapshot, view.selected);
    draw();
  };

  const onResize = () => {
    output.write('\x1b[2J');
    draw();
  };

  function close() {
    if (closed) return;
    closed = true;
    input.off('keypress', onKey);
    output.off?.('resize', onResize);
    if (input.isTTY) input.setRawMode?.(false);
    input.pause();
    output.write('\x1b[?25h\x1b[?1049l');
    quit();
  }

  emitKeypressEvents(input);
  if (input.isTTY) input.setRawMode?.(true);
  input.on('keypress', onKey);
  input.resume();
  output.on('resize', onResize);
  output.write('\x1b[?1049h\x1b[?25l\x1b[2J');

  return {
    update(next, why) {
      snapshot = next;
      offline = why;
      view.selected = clampSelection(next, view.selected);
      draw();
    },
    done,
    close,
  };
}
