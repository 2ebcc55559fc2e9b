import type { Command } from 'commander';

/** Every CLI command, in the order `ygg --help` lists them. Each file under src/cli registers one. */
export const commands: Array<(program: Command) => void> = [];
