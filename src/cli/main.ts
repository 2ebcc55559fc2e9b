import { Command, CommanderError } from 'commander';
import { version } from '../app/version.js';
import { ExitError, YggError } from '../errors.js';
import { commands } from './registry.js';

/** Builds the `ygg` program: every command registers itself from src/cli/registry.ts. */
export function buildProgram(): Command {
  const program = new Command('ygg')
    .description('Dispatch Beads tasks to a homelab of GPU hosts.')
    .version(version)
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI and returns the exit code. The only place that decides how ygg exits. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
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
