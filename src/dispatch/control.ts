import { watch } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SharedState } from '../store/store.js';

/** Operator switches shared between `ygg pause/resume/hosts drain` and a running loop. */
export interface ControlState {
  paused: boolean;
  /** Hosts that take no new tasks; running ones finish. */
  drained: string[];
}

const empty: ControlState = { paused: false, drained: [] };

/** Where the switches live: `.ygg/control.json`, or the store's shared state (a database store). */
export type ControlPlace = string | { runtimeDir: string; sharedState?: SharedState | undefined };

const controlKey = 'control';

const shared = (place: ControlPlace): SharedState | undefined =>
  typeof place === 'string' ? undefined : place.sharedState;
const folder = (place: ControlPlace): string => (typeof place === 'string' ? place : place.runtimeDir);

function controlOf(value: unknown): ControlState {
  const parsed = (value && typeof value === 'object' ? value : {}) as Partial<ControlState>;
  return {
    paused: parsed.paused === true,
    drained: Array.isArray(parsed.drained) ? parsed.drained.filter((h) => typeof h === 'string') : [],
  };
}

export function controlPath(runtimeDir: string): string {
  return join(runtimeDir, 'control.json');
}

export async function readControl(place: ControlPlace): Promise<ControlState> {
  const state = shared(place);
  if (state) return controlOf(await state.read(controlKey));
  try {
    return controlOf(JSON.parse(await readFile(controlPath(folder(place)), 'utf8')));
  } catch {
    return { ...empty, drained: [] };
  }
}

/** Changes the switches atomically (temp file and rename) so a loop never reads half a file. */
export async function updateControl(
  place: ControlPlace,
  change: (state: ControlState) => ControlState,
): Promise<ControlState> {
  const state = shared(place);
  if (state) return controlOf(await state.update(controlKey, (current) => change(controlOf(current))));
  const runtimeDir = folder(place);
  await mkdir(runtimeDir, { recursive: true });
  const next = change(await readControl(runtimeDir));
  const path = controlPath(runtimeDir);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`);
  await rename(temp, path);
  return next;
}

/** Calls `onChange` whenever the control file may have changed. Returns a stop function. */
export function watchControl(place: ControlPlace, onChange: () => void): () => void {
  const state = shared(place);
  if (state) return state.watch(onChange);
  const runtimeDir = folder(place);
  try {
    const watcher = watch(runtimeDir, (_event, name) => {
      if (name === null || name === 'control.json') onChange();
    });
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => {};
  }
}
