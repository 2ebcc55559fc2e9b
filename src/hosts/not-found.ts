/**
 * Whether a command failed because its program does not exist on the host, as each layer that
 * may exec it says so: bubblewrap (`bwrap: execvp X: No such file or directory`, exit 1),
 * `timeout`, `prlimit` and `setpriv` (`failed to run command 'X'` / `failed to execute X`, exit
 * 127), a shell (`X: not found`, exit 127) and the local transport (`X: command not found`, 127).
 */

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `result` says that `program` (the argv's first word) was not found. */
export function commandNotFound(program: string, result: { code: number | null; stderr: string }): boolean {
  if (program === '') return false;
  const name = literal(program);
  const bwrap = new RegExp(`^bwrap: execvp ${name}: No such file or directory$`, 'm');
  if (result.code === 1) return bwrap.test(result.stderr);
  if (result.code !== 127) return false;
  const patterns = [
    bwrap,
    new RegExp(`failed to (?:execute|run command) ['‘"]?${name}['’"]?: No such file or directory`),
    new RegExp(`(?:^|[\\s:])${name}: (?:command )?not found$`, 'm'),
  ];
  return patterns.some((p) => p.test(result.stderr));
}
