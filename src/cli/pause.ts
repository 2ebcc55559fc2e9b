import type { Command } from 'commander';
import { updateControl } from '../dispatch/control.js';
import { openStore } from '../store/open.js';
import type { CommonOptions } from './runtime.js';

/** Pauses or resumes claiming for every loop on this store; running tasks carry on. */
export async function setPaused(paused: boolean, options: CommonOptions): Promise<string> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  await updateControl(store, (state) => ({ ...state, paused }));
  return paused ? 'queue paused: no new tasks start; running ones finish' : 'queue resumed';
}

export function register(program: Command): void {
  for (const [name, paused, description] of [
    ['pause', true, 'stop starting new tasks (running ones finish)'],
    ['resume', false, 'start tasks again after ygg pause'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .option('--store <path>', 'the Beads file')
      .action(async (flags: CommonOptions) => {
        process.stdout.write(`${await setPaused(paused, flags)}\n`);
      });
  }
}
