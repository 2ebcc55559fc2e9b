import type { Command } from 'commander';
import { version } from '../app/version.js';
import { ExitError, YggError } from '../errors.js';
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
    .showHelpAfterError()
    .exitOverride();
  await registerCommands(program, argv);
  return program;
}

/** Runs the CLI and returns the exit code. The only place that decides how ygg exits. */
export async function main(argv: readonly string[]): Promise<number> {
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
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ExitError) return error.code;
    if (error instanceof YggError) {
      process.stderr.write(`ygg: ${error.message}\n`);
      if (error.hint) process.stderr.write(`  ${error.hint}\n`);
      return 1;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(
      `ygg: internal error (please report it with this text, ygg ${version}, node ${process.version}):\n${detail}\n`,
    );
    return 70;
  }
}
