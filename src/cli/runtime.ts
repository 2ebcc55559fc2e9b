/** The flags every command that opens the store takes. */
import type { Command } from 'commander';
import { storeOptionHelp } from './store-help.js';

export type { CommonOptions } from '../app/config.js';

/** Adds `--store` and `--config` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--store <path|url>', storeOptionHelp)
    .option(
      '--config <path>',
      'hosts.yaml (default: YGG_CONFIG, else beside .beads/, else in this folder when no .beads/ is above, else the shipped one)',
    );
}
