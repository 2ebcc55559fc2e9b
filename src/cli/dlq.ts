import type { Command } from 'commander';
import { deadLetters } from '../dispatch/operator.js';
import { openStore } from '../store/open.js';
import { yggOf } from '../store/task.js';
import { cell, titleWidth } from '../text/cell.js';
import { plural } from '../text/plural.js';
import type { CommonOptions } from './runtime.js';
import { storeOptionHelp } from './store-help.js';

export interface DeadLetterRow {
  id: string;
  title: string;
  attempts: number;
  error: string;
  at: string;
}

/** The dead-letter list: tasks ygg blocked after their last attempt (not other blocked issues). */
export async function dlqCommand(options: CommonOptions): Promise<DeadLetterRow[]> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  return deadLetters(store).map((task) => {
    const dead = yggOf(task).dead!;
    return { id: task.id, title: task.title, attempts: dead.attempts, error: dead.error, at: dead.at };
  });
}

export function register(program: Command): void {
  program
    .command('dlq')
    .description('list dead-lettered tasks (failed every attempt); send one back with ygg retry ID')
    .option('--store <path|url>', storeOptionHelp)
    .option('--json', 'print one JSON array')
    .action(async (flags: CommonOptions & { json?: boolean }) => {
      const rows = await dlqCommand(flags);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no dead letters\n');
        return;
      }
      for (const row of rows) {
        process.stdout.write(
          `${row.id}  ${plural(row.attempts, 'attempt')}  ${row.at}  ${cell(row.title, titleWidth)}\n    ${row.error}\n`,
        );
      }
    });
}
