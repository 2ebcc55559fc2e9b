import type { Command } from 'commander';
import { version } from '../app/version.js';
import { ExitError, UsageError, usageExitCode, YggError } from '../errors.js';
import { registerCommands } from './registry.js';

/**
 * Builds the `ygg` program with the commands `argv` needs: each registers itself from a module
 * listed in src/cli/registry.ts, imported only when that command runs.
 */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const { Command } = await import('commander');
  const program = new Command('ygg')
    .description('Dispatch Beads tasks to a homelab of GPU hosts.')
    .version(version)
    .exitOverride()
    // ygg's own options go before the command; after it they are the command's (needed by
    // `ygg hosts drain NAME --json`, whose --json is not the `--json` of `ygg hosts`).
    .enablePositionalOptions()
    .addHelpText(
      'after',
      '\nDurations: 250ms, 30s, 5m, 1h; a bare number is seconds, as in hosts.yaml, except for an\noption whose name ends in -ms (--simulate-ms), where it is milliseconds.',
    )
    // Commander's own errors (a bad option value, an unknown command) speak as every ygg error does.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'ygg: ')) });
  await registerCommands(program, argv);
  hintHelpAfterErrors(program);
  return program;
}

/**
 * A usage error is one line and a pointer to the command's help, not the whole help: the help
 * would scroll the error out of sight.
 */
function hintHelpAfterErrors(command: Command, path = 'ygg'): void {
  command.showHelpAfterError(`  see \`${path} --help\``);
  for (const sub of command.commands) hintHelpAfterErrors(sub, `${path} ${sub.name()}`);
}

/** Runs the CLI and returns the exit code. The only place that decides how ygg exits. */
export async function main(argv: readonly string[]): Promise<number> {
  endQuietlyOnClosedPipe();
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    // What scripts run most often, answered before commander is even loaded (same output).
    process.stdout.write(`${version}\n`);
    return 0;
  }
  try {
    const program = await buildProgram(argv);
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    const { CommanderError } = await import('commander');
    // Help and --version end 0; any other commander error is a usage error: 2, as is conventional.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : usageExitCode;
    if (error instanceof ExitError) return error.code;
    if (error instanceof YggError) {
      process.stderr.write(`ygg: ${error.message}\n`);
      if (error.hint) process.stderr.write(`  ${error.hint}\n`);
      return error instanceof UsageError ? usageExitCode : 1;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(
      `ygg: internal error (please report it with this text, ygg ${version}, node ${process.version}):\n${detail}\n`,
    );
    return 70;
  }
}

/**
 * A reader that stops early (`ygg list | head -3`) closes the pipe: the rest of the output has
 * nowhere to go, so ygg ends at once and quietly, as Unix tools do, instead of a stack trace.
 */
function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    });
  }
}
