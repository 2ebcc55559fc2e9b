/**
 * Quoting for a POSIX remote shell. sshd hands the command line to the login user's shell as
 * one string, so every word ygg sends is quoted here and nowhere else: nothing from a task is
 * ever pasted into a shell string unquoted.
 */

/** A shell word cannot hold NUL: C strings end there, so the remote side would see less than was sent. */
export class UnquotableArgumentError extends Error {
  override readonly name: string = 'UnquotableArgumentError';
  constructor(readonly what: string) {
    super(
      `${what} contains a NUL byte, which no shell command line can carry; remove it or pass the data on stdin`,
    );
  }
}

// Words made only of these need no quotes in any POSIX shell ('=' and '~' are left out:
// `A=b` first in a command is an assignment, and a leading `~` expands).
const SAFE_WORD = /^[A-Za-z0-9_./:@%+,-]+$/;

/** Quotes one word so a POSIX shell reads it back byte for byte. */
export function quoteArg(word: string, what = 'an argument'): string {
  if (word.includes('\0')) throw new UnquotableArgumentError(what);
  if (SAFE_WORD.test(word)) return word;
  // Inside single quotes nothing is special except the closing quote itself.
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quotes an argv into one command line for a POSIX shell. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('cannot run an empty argv');
  return argv.map((word, index) => quoteArg(word, `argument ${index}`)).join(' ');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks an environment variable name, so it can be written unquoted before `=`. */
export function assertEnvName(name: string): void {
  if (!ENV_NAME.test(name)) {
    throw new Error(`environment variable name ${JSON.stringify(name)} is not a valid shell name`);
  }
}

/**
 * The full remote command line: change directory, export the environment, then `exec` the
 * argv, so the command keeps the session's process (and process group) that sshd started.
 */
export function remoteCommandLine(
  argv: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): string {
  const parts: string[] = [];
  if (options.cwd !== undefined)
    parts.push(`cd -- ${quoteArg(options.cwd, 'the working directory')} || exit 126`);
  const env = Object.entries(options.env ?? {});
  if (env.length > 0) {
    const assignments = env.map(([name, value]) => {
      assertEnvName(name);
      return `${name}=${quoteArg(value, `environment variable ${name}`)}`;
    });
    parts.push(`export ${assignments.join(' ')}`);
  }
  parts.push(`exec ${quoteArgv(argv)}`);
  return parts.join('; ');
}
