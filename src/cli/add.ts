import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ExitError, UsageError, YggError } from '../errors.js';
import { QueueFullError, queueFullExitCode } from '../schedule/backpressure.js';
import { describePlace } from '../schedule/position.js';
import { plural } from '../text/plural.js';
import {
  type AddedTask,
  type AddOptions,
  addToQueue,
  parseAttempts,
  parseDuration,
  parseMilliseconds,
  parsePriority,
} from './add-task.js';
import { withStoreOption } from './store-options.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command): void {
  withStoreOption(
    program
      .command('add')
      .description('add a task; prints its id (--from FILE: one task per line, all in one write)')
      .argument('[title]', 'the task title')
      .argument('[argv...]', 'after --: the command the shell handler runs (an argv, never a shell string)')
      .option('--from <file>', 'add a task per line of FILE (- for stdin): JSON objects, or titles')
      .option('--type <type>', 'the task type (stored as a label)')
      .option('--priority <n>', 'priority 0 (critical) .. 4 (backlog)', parsePriority)
      .option('--label <label>', 'a label (repeatable)', collect)
      .option('--description <text>', 'the description')
      .option('--blocked-by <id>', 'a task that must close first (repeatable)', collect)
      .option('--handler <name>', 'the handler plugin to run it')
      .option(
        '--simulate-ms <duration>',
        'run it with the simulate handler, working this long (a bare number is ms; or 2s)',
        parseMilliseconds,
      )
      .option(
        '--timeout <duration>',
        "soft timeout for this task (30s, 5m; a bare number is seconds), over its type's",
        parseDuration,
      )
      .option('--hard-timeout <duration>', "hard timeout for this task, over its type's", parseDuration)
      .option('--attempts <n>', "attempts before the dead-letter list, over its type's", parseAttempts)
      .option('--as <name>', 'who submits it (created_by); default the login name')
      .option('--config <path>', 'hosts.yaml with the queue limits (default: found as for `ygg loop`)')
      .option(
        '--json',
        'print {id, position, of, ...} as one JSON object instead of the id (--from: [{line, id}, ...])',
      ),
  ).action(
    async (title: string | undefined, argv: string[], flags: Record<string, unknown>, command: Command) => {
      // Commander fills [title] from the words after -- when none came before.
      const raw = (command.parent as { rawArgs?: string[] } | null)?.rawArgs ?? [];
      const dashes = raw.indexOf('--');
      const titleFromCommand = dashes >= 0 && argv.length < raw.length - dashes - 1;
      // With --from there is no title: a word commander took for one belongs to the command.
      const options = optionsFrom(flags, titleFromCommand && title !== undefined ? [title, ...argv] : argv);
      if (flags.from !== undefined) {
        if (title !== undefined && !titleFromCommand)
          throw new UsageError('give a title or --from, not both', {
            hint: 'With --from, every line of the file is a task.',
          });
        await addFromOrExit(flags.from as string, options, Boolean(flags.json));
        return;
      }
      if (titleFromCommand) {
        throw new UsageError('the title goes before --: everything after -- is the command', {
          hint: 'For example: ygg add "list the work dir" --handler shell -- ls -l',
        });
      }
      if (title === undefined)
        throw new UsageError('ygg add needs a title, or --from FILE', {
          hint: 'For example: ygg add "summarize the meeting notes" --priority 1',
        });
      const added = await addOrExit({ ...options, title });
      for (const warning of added.warnings) process.stderr.write(`ygg: ${warning}\n`);
      const { task, place } = added;
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ id: task.id, position: place?.position ?? null, of: place?.of ?? null, state: place?.state ?? null, ...(place?.overLimit ? { over_limit: place.overLimit } : {}) })}\n`,
        );
      } else process.stdout.write(`${task.id}\n`);
      if (place) process.stderr.write(`${describePlace(place)}\n`);
    },
  );
}

/** The options of one add from commander's flags (every one but the title). */
function optionsFrom(flags: Record<string, unknown>, argv: string[]): Omit<AddOptions, 'title'> {
  return {
    argv,
    ...(flags.store ? { store: flags.store as string } : {}),
    ...(flags.type ? { type: flags.type as string } : {}),
    ...(flags.priority !== undefined ? { priority: flags.priority as number } : {}),
    ...(flags.label ? { labels: flags.label as string[] } : {}),
    ...(flags.description ? { description: flags.description as string } : {}),
    ...(flags.blockedBy ? { blockedBy: flags.blockedBy as string[] } : {}),
    ...(flags.handler ? { handler: flags.handler as string } : {}),
    ...(flags.simulateMs !== undefined ? { simulateMs: flags.simulateMs as number } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout as number } : {}),
    ...(flags.hardTimeout !== undefined ? { hardTimeoutMs: flags.hardTimeout as number } : {}),
    ...(flags.attempts !== undefined ? { attempts: flags.attempts as number } : {}),
    ...(flags.as ? { as: flags.as as string } : {}),
    ...(flags.config ? { config: flags.config as string } : {}),
  };
}

/** `--from`: prints the ids in input order (with --json, one array of {line, id}). */
async function addFromOrExit(
  source: string,
  options: Omit<AddOptions, 'title'>,
  json: boolean,
): Promise<void> {
  const { addFromLines, BulkQueueFullError } = await import('./add-bulk.js');
  const bytes = await readInput(source);
  try {
    const { added, warnings } = await addFromLines(options, source, bytes);
    for (const warning of warnings) process.stderr.write(`ygg: ${warning}\n`);
    process.stdout.write(
      json
        ? `${JSON.stringify(added.map(({ line, task }) => ({ line, id: task.id })))}\n`
        : added.map(({ task }) => `${task.id}\n`).join(''),
    );
    process.stderr.write(`added ${plural(added.length, 'task')}\n`);
  } catch (error) {
    if (!(error instanceof BulkQueueFullError)) throw error;
    process.stderr.write(`ygg: ${error.message}; nothing was added\n  ${error.hint}\n`);
    throw new ExitError(queueFullExitCode, error.message);
  }
}

/** The bytes of FILE, or of stdin for `-`. */
async function readInput(source: string): Promise<Uint8Array> {
  try {
    if (source !== '-') return await readFile(source);
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } catch (error) {
    throw new YggError(`cannot read ${source === '-' ? 'stdin' : source}: ${(error as Error).message}`, {
      hint: 'Give a readable file, or - to read the tasks from stdin.',
    });
  }
}

/** A full queue ends `ygg add` with its own exit status (75, EX_TEMPFAIL: try again later). */
async function addOrExit(options: AddOptions): Promise<AddedTask> {
  try {
    return await addToQueue(options);
  } catch (error) {
    if (!(error instanceof QueueFullError)) throw error;
    process.stderr.write(`ygg: ${error.message}; nothing was added\n  ${error.hint}\n`);
    throw new ExitError(queueFullExitCode, error.message);
  }
}
