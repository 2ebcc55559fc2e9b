/** The flags every command that opens the store takes. */
import type { Command } from 'commander';

export type { CommonOptions } from '../app/config.js';

/** Adds `--store` and `--config` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--store <path>', 'the Beads file (default: YGG_STORE, else .beads/issues.jsonl found upward)')
    .option('--config <path>', 'hosts.yaml (default: YGG_CONFIG, else beside .beads/, else the shipped one)');
}
