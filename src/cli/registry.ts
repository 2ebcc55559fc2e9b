import type { Command } from 'commander';
import { register as registerConfig } from './config.js';

/** Every CLI command, in the order `ygg --help` lists them. Each file under src/cli registers one. */
export const commands: Array<(program: Command) => void> = [registerConfig];
