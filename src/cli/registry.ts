import type { Command } from 'commander';
import { register as registerAdd } from './add.js';
import { register as registerCancel } from './cancel.js';
import { register as registerConfig } from './config.js';
import { register as registerCreate } from './create.js';
import { register as registerDemo } from './demo.js';
import { register as registerDlq } from './dlq.js';
import { register as registerDoctor } from './doctor.js';
import { register as registerDrain } from './drain.js';
import { register as registerHosts } from './hosts.js';
import { register as registerInit } from './init.js';
import { register as registerList } from './list.js';
import { register as registerLogs } from './logs.js';
import { register as registerLoop } from './loop.js';
import { register as registerMonitor } from './monitor.js';
import { register as registerPause } from './pause.js';
import { register as registerPolicy } from './policy.js';
import { register as registerPosition } from './position.js';
import { register as registerRetry } from './retry.js';
import { register as registerRun } from './run.js';
import { register as registerShow } from './show.js';
import { register as registerStats } from './stats.js';

/** Every CLI command, in the order `ygg --help` lists them. Each file under src/cli registers one. */
export const commands: Array<(program: Command) => void> = [
  registerInit,
  registerAdd,
  registerList,
  registerShow,
  registerCreate,
  registerDemo,
  registerLoop,
  registerRun,
  registerMonitor,
  registerLogs,
  registerCancel,
  registerRetry,
  registerDlq,
  registerPause,
  registerPolicy,
  registerPosition,
  registerStats,
  registerConfig,
  registerHosts,
  registerDrain,
  registerDoctor,
];
