/**
 * YAML's own errors for a mis-indented key point at the line before it (a key indented one space
 * too far continues the previous value, and YAML complains about that value). This finds the
 * line that is really wrong, so `config check` points at the key a person has to move.
 */

/** YAML error codes that a key indented differently from its neighbours produces. */
const indentationCodes = new Set(['BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'BAD_INDENT']);

export interface YamlErrorAt {
  code: string;
  /** 1-based lines where YAML says the error starts and ends. */
  startLine: number;
  endLine?: number;
}

export interface Misindented {
  line: number;
  message: string;
}

/** The mis-indented key behind an indentation error, or undefined when it is something else. */
export function misindentedKey(lines: readonly string[], error: YamlErrorAt): Misindented | undefined {
  if (!indentationCodes.has(error.code)) return undefined;
  const start = lines[error.startLine - 1];
  if (start === undefined) return undefined;
  const expected = indentOf(start);
  const last = Math.max(error.endLine ?? error.startLine, error.startLine + 1);
  for (let n = error.startLine + 1; n <= last && n <= lines.length; n++) {
    const text = lines[n - 1] ?? '';
    const key = /^\s*([^\s:#][^:#]*):(\s|$)/.exec(text)?.[1];
    if (!key || indentOf(text) === expected) continue;
    const spaces = (count: number) => `${count} space${count === 1 ? '' : 's'}`;
    return {
      line: n,
      message: `"${key.trim()}" is indented ${spaces(indentOf(text))} where the key on line ${error.startLine} has ${spaces(expected)}: is it indented under the wrong parent?`,
    };
  }
  return undefined;
}

function indentOf(line: string): number {
  return /^ */.exec(line)?.[0].length ?? 0;
}
