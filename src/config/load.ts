/**
 * Loading hosts.yaml: YAML (keeping node positions) -> schema -> normalize -> named rule checks.
 * Every problem carries its key path and line; the config is returned only when there are no errors.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { YggError } from '../errors.js';
import { type FindConfigOptions, type FoundConfig, findConfigPath } from './discover.js';
import { normalize } from './normalize.js';
import { type ConfigProblem, formatProblem } from './problems.js';
import { checkRules } from './rules.js';
import { rulesBeyondSchema } from './rules-beyond-schema.js';
import { hostsFileSchema } from './schema.js';
import { keyPathsByLine, locate } from './source-map.js';
import type { YggConfig } from './types.js';
import { aliasProblem, maxAliasExpansions } from './yaml-aliases.js';
import { mayBeMisindented, misindentedMessage, recoverIndentation } from './yaml-indent.js';
import { problemsFromIssues } from './zod-issues.js';

export { type FindConfigOptions, type FoundConfig, findConfigPath, shippedConfigPath } from './discover.js';

export interface ConfigResult {
  /** The normalized config; undefined when there are errors. */
  config: YggConfig | undefined;
  warnings: ConfigProblem[];
  errors: ConfigProblem[];
}

/**
 * Parses and checks hosts.yaml text; `path` names the file in problems and anchors relative paths.
 * Never throws: whatever the text holds comes back as problems (a reload must not stop a loop).
 */
export function parseConfig(text: string, path: string): ConfigResult {
  try {
    return parseRecovering(text, path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      config: undefined,
      warnings: [],
      errors: [{ severity: 'error', path: [], file: path, message: `cannot read this file: ${reason}` }],
    };
  }
}

/**
 * A key indented under the wrong parent is said at its own line, and the rest of the file is
 * checked with it moved to its level, so one run reports every problem; the config is refused.
 */
function parseRecovering(text: string, path: string): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  if (!mayBeMisindented(text, doc.errors)) return parseConfigText(path, doc, lineCounter);
  const recovery = recoverIndentation(text);
  if (recovery.misindented.length === 0) return parseConfigText(path, doc, lineCounter);
  const movedCounter = new LineCounter();
  const moved = parseDocument(recovery.text, { lineCounter: movedCounter, prettyErrors: true });
  const rest = parseConfigText(path, moved, movedCounter);
  const keys = moved.errors.length === 0 ? keyPathsByLine(moved, movedCounter) : new Map();
  const misindented = recovery.misindented.map(
    (m): ConfigProblem => ({
      severity: 'error',
      path: keys.get(m.line) ?? [],
      message: misindentedMessage(m),
      file: path,
      line: m.line,
    }),
  );
  return { config: undefined, warnings: rest.warnings, errors: sortByLine([...misindented, ...rest.errors]) };
}

function parseConfigText(path: string, doc: Document.Parsed, lineCounter: LineCounter): ConfigResult {
  const at = (problem: ConfigProblem): ConfigProblem => ({ ...problem, file: path, ...located(problem) });
  const located = (problem: ConfigProblem) => {
    const { line, column } = locate(doc, lineCounter, problem.path);
    return { line, column };
  };
  const yamlProblem = (severity: ConfigProblem['severity']) => (e: (typeof doc.errors)[number]) => {
    const pos = e.linePos?.[0];
    const message = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
    return {
      severity,
      path: [],
      message,
      file: path,
      line: pos?.line,
      column: pos?.col,
    } satisfies ConfigProblem;
  };
  const yamlWarnings = doc.warnings.map(yamlProblem('warning'));
  if (doc.errors.length > 0)
    return { config: undefined, warnings: yamlWarnings, errors: doc.errors.map(yamlProblem('error')) };

  // Aliases are checked before they are expanded, so a file of nested ones costs no memory.
  const aliases = aliasProblem(doc);
  if (aliases) {
    const { line, col } = lineCounter.linePos(aliases.offset);
    const error: ConfigProblem = {
      severity: 'error',
      path: [],
      message: aliases.message,
      file: path,
      line,
      column: col,
    };
    return { config: undefined, warnings: yamlWarnings, errors: [error] };
  }
  const data = emptyEntriesAsMaps(doc.toJS({ maxAliasCount: maxAliasExpansions }) ?? {});
  const parsed = hostsFileSchema.safeParse(data);
  const baseDir = dirname(resolve(path));
  if (!parsed.success) {
    const schemaProblems = problemsFromIssues(hostsFileSchema, parsed.error.issues, data);
    const ruleProblems = rulesBeyondSchema(data, parsed.error.issues, baseDir, resolve(path));
    const all = [...schemaProblems, ...ruleProblems].map(at);
    const warnings = [...yamlWarnings, ...sortByLine(all.filter((p) => p.severity === 'warning'))];
    return { config: undefined, warnings, errors: sortByLine(all.filter((p) => p.severity === 'error')) };
  }
  const config = normalize(parsed.data, baseDir, resolve(path));
  const problems = checkRules({ file: parsed.data, config, baseDir }).map(at);
  const errors = sortByLine(problems.filter((p) => p.severity === 'error'));
  const warnings = [...yamlWarnings, ...sortByLine(problems.filter((p) => p.severity === 'warning'))];
  return { config: errors.length === 0 ? config : undefined, warnings, errors };
}

/** `hosts:\n  a:` (an entry with nothing under it) means an entry with every default. */
function emptyEntriesAsMaps(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  const top = data as Record<string, unknown>;
  for (const section of ['hosts', 'types']) {
    const entries = top[section];
    if (entries === null) top[section] = {};
    else if (entries && typeof entries === 'object' && !Array.isArray(entries)) {
      const map = entries as Record<string, unknown>;
      for (const [name, value] of Object.entries(map)) if (value === null) map[name] = {};
    }
  }
  return data;
}

function sortByLine(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function unreadable(path: string, error: unknown): ConfigResult {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    config: undefined,
    warnings: [],
    errors: [{ severity: 'error', path: [], file: path, message: `cannot read: ${reason}` }],
  };
}

/** Reads and checks a hosts.yaml file. */
export async function loadConfig(path: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return unreadable(path, error);
  }
  return parseConfig(text, path);
}

/** The same, synchronously (for reloads from a signal handler or a watcher callback). */
export function loadConfigSync(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return unreadable(path, error);
  }
  return parseConfig(text, path);
}

/** The config, or a YggError listing every error (one per line, `file:line: key.path: message`). */
export function configOrThrow(
  result: ConfigResult,
  path: string,
): { config: YggConfig; warnings: ConfigProblem[] } {
  if (result.config && result.errors.length === 0)
    return { config: result.config, warnings: result.warnings };
  const lines = result.errors.map((p) => formatProblem(p));
  throw new YggError(`invalid config ${path}:\n${lines.join('\n')}`, {
    hint: 'run `ygg config check` for details',
  });
}

/** Finds hosts.yaml (flag, YGG_CONFIG, beside .beads/, shipped default), loads it, throws on errors. */
export async function loadDiscoveredConfig(
  options: FindConfigOptions = {},
): Promise<FoundConfig & { config: YggConfig; warnings: ConfigProblem[] }> {
  const found = findConfigPath(options);
  const { config, warnings } = configOrThrow(await loadConfig(found.path), found.path);
  return { ...found, config, warnings };
}
