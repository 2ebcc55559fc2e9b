import type { Command } from 'commander';
import { register as registerCancel } from './cancel.js';
import { register as registerConfig } from './config.js';
import { register as registerDemo } from './demo.js';
import { register as registerDlq } from './dlq.js';
import { register as registerLoop } from './loop.js';
import { register as registerMonitor } from './monitor.js';
import { register as registerPause } from './pause.js';
import { register as registerRetry } from './retry.js';

/** Every CLI command, in the order `ygg --help` lists them. Each file under src/cli registers one. */
export const commands: Array<(program: Command) => void> = [
  registerDemo,
  registerLoop,
  registerMonitor,
  registerCancel,
  registerRetry,
  registerDlq,
  registerPause,
  registerConfig,
];
