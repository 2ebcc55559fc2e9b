import type { Command } from 'commander';
import { updateControl } from '../dispatch/control.js';
import { openStore } from '../store/open.js';
import type { CommonOptions } from './runtime.js';
import { storeOptionHelp } from './store-help.js';

/** What `ygg pause` or `ygg resume` did: the queue's state now, and whether this run changed it. */
export interface PauseResult {
  paused: boolean;
  changed: boolean;
}

/** Pauses or resumes claiming for every loop on this store; running tasks carry on. */
export async function setPaused(paused: boolean, options: CommonOptions): Promise<PauseResult> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  let was = false;
  await updateControl(store, (state) => {
    was = state.paused;
    return { ...state, paused };
  });
  return { paused, changed: was !== paused };
}

/** One line for people: what changed, or that nothing needed to. */
export function pauseText(result: PauseResult): string {
  if (result.paused)
    return result.changed
      ? 'queue paused: no new tasks start; running ones finish'
      : 'the queue is already paused (ygg resume starts tasks again)';
  return result.changed ? 'queue resumed: tasks start again' : 'the queue is not paused: nothing to resume';
}

export function register(program: Command): void {
  for (const [name, paused, description] of [
    ['pause', true, 'stop starting new tasks (running ones finish)'],
    ['resume', false, 'start tasks again after ygg pause'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option('--store <path|url>', storeOptionHelp)
      .option('--json', 'print {paused, changed} as one JSON object')
      .action(async (flags: CommonOptions & { json?: boolean }) => {
        const result = await setPaused(paused, flags);
        process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${pauseText(result)}\n`);
      });
  }
}
