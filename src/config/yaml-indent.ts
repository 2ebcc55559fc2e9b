/**
 * A key indented differently from its neighbours breaks the YAML: one indented too far continues
 * the value on the line before (and YAML points at that line), one between two levels belongs to
 * neither. This finds each key a person has to move and moves it, in a copy, to the nearest level,
 * so `config check` says where the key is and still checks the rest of the file in the same run.
 * Only indentation changes: every line keeps its number.
 */
import { parseDocument, type YAMLError } from 'yaml';

/** YAML error codes that a key indented differently from its neighbours produces. */
const indentationCodes = new Set(['BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'BAD_INDENT']);
/** Passes at most: each parses the file again (moving one key can show YAML the next). */
const maxPasses = 5;
/** A larger file is not parsed again and again: its YAML errors are said as YAML says them. */
const maxRecoveredChars = 1024 * 1024;

export interface Misindented {
  /** 1-based line of the key. */
  line: number;
  key: string;
  indent: number;
  /** The indent of the level it was moved to, and the nearest line above at that indent. */
  expected: number;
  expectedLine?: number;
}

export interface IndentRecovery {
  misindented: Misindented[];
  /** The text with each of those keys (and what is under it) moved to its level. */
  text: string;
}

/** Whether YAML's errors may come from a mis-indented key (worth `recoverIndentation`). */
export function mayBeMisindented(text: string, errors: readonly YAMLError[]): boolean {
  return text.length <= maxRecoveredChars && errors.some((e) => indentationCodes.has(e.code));
}

export function recoverIndentation(text: string): IndentRecovery {
  const original = text.split('\n');
  const lines = [...original];
  const misindented: Misindented[] = [];
  for (let pass = 0; pass < maxPasses; pass++) {
    const suspects = suspectLines(lines, parseDocument(lines.join('\n')).errors);
    const moved = moveSuspects(lines, suspects);
    if (moved.length === 0) break;
    misindented.push(...moved);
  }
  for (const m of misindented) m.expectedLine = lineWithIndent(original, m.line, m.expected);
  misindented.sort((a, b) => a.line - b.line);
  return { misindented, text: lines.join('\n') };
}

/** "slots" is indented 6 spaces where the key on line 3 has 4 spaces: ... */
export function misindentedMessage(m: Misindented): string {
  const spaces = (count: number) => `${count} space${count === 1 ? '' : 's'}`;
  const where = m.expectedLine ? `the key on line ${m.expectedLine} has` : 'its level has';
  return `"${m.key}" is indented ${spaces(m.indent)} where ${where} ${spaces(m.expected)}: is it indented under the wrong parent?`;
}

/**
 * The lines YAML's indentation errors point to: a key between two levels is where YAML says (or,
 * when YAML names only blank lines and comments, the line after them); one indented too far is
 * after the line YAML names (whose value it seems to continue).
 */
function suspectLines(lines: readonly string[], errors: readonly YAMLError[]): Set<number> {
  const suspects = new Set<number>();
  for (const error of errors) {
    const [start, end] = error.linePos ?? [];
    if (!start || !indentationCodes.has(error.code)) continue;
    const first = error.code === 'BAD_INDENT' ? start.line : start.line + 1;
    let last = Math.max(end?.line ?? start.line, first);
    if (lines.slice(first - 1, last).every(isBlank)) {
      while (last < lines.length && isBlank(lines[last] ?? '')) last++;
      last++;
    }
    for (let n = first; n <= last; n++) suspects.add(n);
  }
  return suspects;
}

/**
 * One pass down the file keeping the levels open at each line (the indents of the lines above that
 * each start a shallower block): a suspect key not at one of them moves to the nearest (between
 * two, the deeper one, the block it follows).
 */
function moveSuspects(lines: string[], suspects: ReadonlySet<number>): Misindented[] {
  const moved: Misindented[] = [];
  const levels: number[] = [];
  for (let n = 1; n <= lines.length; n++) {
    const text = lines[n - 1] ?? '';
    if (isBlank(text)) continue;
    let indent = indentOf(text);
    const key = suspects.has(n) ? keyOf(text) : undefined;
    const expected = key === undefined ? indent : nearest(levels, indent);
    if (key !== undefined && expected !== indent) {
      const m = { line: n, key, indent, expected };
      moveKey(lines, m);
      moved.push(m);
      indent = expected;
    }
    while (levels.length > 0 && (levels.at(-1) ?? 0) >= indent) levels.pop();
    levels.push(indent);
  }
  return moved;
}

function nearest(levels: readonly number[], indent: number): number {
  let best: number | undefined;
  for (const level of levels) {
    if (best === undefined || Math.abs(level - indent) <= Math.abs(best - indent)) best = level;
  }
  return best ?? indent;
}

/** Moves the key's line, and the lines under it when its value is a block, to its level. */
function moveKey(lines: string[], m: Omit<Misindented, 'expectedLine'>): void {
  const shift = (n: number) => {
    const text = lines[n - 1] ?? '';
    lines[n - 1] = ' '.repeat(Math.max(0, indentOf(text) + m.expected - m.indent)) + text.trimStart();
  };
  const hasValue = !/:\s*(#.*)?$/.test(lines[m.line - 1] ?? '');
  shift(m.line);
  if (hasValue) return;
  // What is under it must be deeper than the key and, when it moves in, than the level it joins.
  const floor = Math.max(m.indent, m.expected);
  for (let n = m.line + 1; n <= lines.length; n++) {
    const text = lines[n - 1] ?? '';
    if (isBlank(text)) continue;
    if (indentOf(text) <= floor) break;
    shift(n);
  }
}

/** The nearest line above `n` at `indent`, to point at as an example. */
function lineWithIndent(lines: readonly string[], n: number, indent: number): number | undefined {
  for (let i = n - 2; i >= 0; i--) {
    const text = lines[i] ?? '';
    if (!isBlank(text) && indentOf(text) === indent) return i + 1;
    if (!isBlank(text) && indentOf(text) < indent) return undefined;
  }
  return undefined;
}

function keyOf(line: string): string | undefined {
  return /^\s*([^\s:#\-[{][^:#]*):(\s|$)/.exec(line)?.[1]?.trim();
}

function isBlank(line: string): boolean {
  return /^\s*(#.*)?$/.test(line);
}

function indentOf(line: string): number {
  return /^ */.exec(line)?.[0].length ?? 0;
}
