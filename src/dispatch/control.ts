import { watch } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Operator switches shared between `ygg pause/resume/hosts drain` and a running loop. */
export interface ControlState {
  paused: boolean;
  /** Hosts that take no new tasks; running ones finish. */
  drained: string[];
}

const empty: ControlState = { paused: false, drained: [] };

export function controlPath(runtimeDir: string): string {
  return join(runtimeDir, 'control.json');
}

export async function readControl(runtimeDir: string): Promise<ControlState> {
  try {
    const parsed = JSON.parse(await readFile(controlPath(runtimeDir), 'utf8')) as Partial<ControlState>;
    return {
      paused: parsed.paused === true,
      drained: Array.isArray(parsed.drained) ? parsed.drained.filter((h) => typeof h === 'string') : [],
    };
  } catch {
    return { ...empty, drained: [] };
  }
}

/** Changes the switches atomically (temp file and rename) so a loop never reads half a file. */
export async function updateControl(
  runtimeDir: string,
  change: (state: ControlState) => ControlState,
): Promise<ControlState> {
  await mkdir(runtimeDir, { recursive: true });
  const next = change(await readControl(runtimeDir));
  const path = controlPath(runtimeDir);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(next, null, 2)}\n`);
  await rename(temp, path);
  return next;
}

/** Calls `onChange` whenever the control file may have changed. Returns a stop function. */
export function watchControl(runtimeDir: string, onChange: () => void): () => void {
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
