/**
 * `ygg add --from FILE|-`: many tasks in one store commit. Every line is checked first (as one
 * `ygg add` checks its task) and the queue limits are checked for the whole batch under the
 * store's write lock: either every task is added or none is, so a refused file can be sent again
 * as it is, without duplicates.
 */
import type { YggConfig } from '../config/types.js';
import { YggError } from '../errors.js';
import { readSeenModels, type SeenModels } from '../hosts/model/local-models.js';
import type { NewTask } from '../store/store.js';
import type { Task } from '../store/task.js';
import { plural } from '../text/plural.js';
import { commitAdds } from './add-commit.js';
import { type LineFields, type LineProblem, parseTaskLines } from './add-lines.js';
import { modelWarning } from './add-model-check.js';
import {
  type AddOptions,
  handlerOf,
  newTaskFrom,
  pausedNote,
  queueConfigOrWarning,
  safeUserName,
} from './add-task.js';
import { usingStore } from './store-options.js';

export { BulkQueueFullError } from '../schedule/batch-backpressure.js';

/** `ygg add`'s options without the title: they apply to every line, which may override them. */
export type BulkAddOptions = Omit<AddOptions, 'title'>;

export interface BulkAdded {
  /** The tasks added, in input order, with the line each came from. */
  added: Array<{ line: number; task: Task }>;
  warnings: string[];
}

/** How many problems an error lists before it counts the rest. */
const problemsShown = 20;

/** Adds every task of `bytes` (read from `source`: a path, or `-` for stdin) or none. */
export async function addFromLines(
  options: BulkAddOptions,
  source: string,
  bytes: Uint8Array,
): Promise<BulkAdded> {
  const parsed = await parseTaskLines(bytes);
  // The login name is looked up once, not once a line.
  const base: BulkAddOptions = { ...options, as: options.as || safeUserName() };
  const problems = [...parsed.problems];
  const inputs: Array<{ line: number; input: NewTask; options: AddOptions }> = [];
  for (const { line, fields } of parsed.tasks) {
    const merged = mergedOptions(base, fields);
    const handler = merged.handler ?? (merged.argv?.length ? 'shell' : undefined);
    if (handler === 'shell' && !merged.argv?.length)
      problems.push({ line, message: 'the shell handler needs the command to run (argv)' });
    try {
      inputs.push({ line, input: newTaskFrom(merged), options: merged });
    } catch (error) {
      problems.push({ line, message: (error as Error).message });
    }
  }
  if (inputs.length === 0 && problems.length === 0)
    throw new YggError(`no tasks in ${sourceName(source)}`, {
      hint: 'Give one title per line, or one JSON object per line such as {"title": "..."}.',
    });

  return usingStore(options, async (store) => {
    const warnings: string[] = [];
    const config = await queueConfigOrWarning(options, store, warnings);
    // Checked even when some lines are already bad, so that one error lists every bad line.
    for (const { line, options: one } of inputs) {
      for (const id of one.blockedBy ?? [])
        if (!store.get(id))
          problems.push({ line, message: `blocked by ${id}: no such task in ${store.path}` });
    }
    problems.push(...(await unknownHandlers(inputs, config)));
    throwProblems(source, problems);

    if (config) warnings.push(...modelWarnings(inputs, config, readSeenModels(store.runtimeDir)));
    const settled = await commitAdds(
      store,
      inputs.map(({ input }) => input),
      config?.queue,
      true,
    );
    const added = settled.flatMap((s, i) =>
      s.status === 'fulfilled' ? [{ line: inputs[i]?.line ?? 0, task: s.value }] : [],
    );
    const refused = settled.find((s) => s.status === 'rejected');
    const paused = added.length > 0 ? await pausedNote(store, added.length) : undefined;
    if (paused) warnings.push(paused);
    if (!refused) return { added, warnings };
    if (added.length === 0) throw refused.reason;
    // Not a limit (those refuse the whole batch): a line the store would not write.
    throw new YggError(
      `added ${added.length} of ${plural(inputs.length, 'task')}: ${(refused.reason as Error).message}`,
      { hint: `added: ${added.map((a) => `line ${a.line} ${a.task.id}`).join(', ')}` },
    );
  });
}

/** The command-line options, with what a line sets in place of them (labels and blockers add up). */
function mergedOptions(options: BulkAddOptions, fields: LineFields): AddOptions {
  const merged: AddOptions = { ...options, title: fields.title };
  if (fields.type !== undefined) merged.type = fields.type;
  if (fields.priority !== undefined) merged.priority = fields.priority;
  if (fields.labels) merged.labels = [...(options.labels ?? []), ...fields.labels];
  if (fields.description !== undefined) merged.description = fields.description;
  if (fields.blocked_by) merged.blockedBy = [...(options.blockedBy ?? []), ...fields.blocked_by];
  if (fields.handler !== undefined) merged.handler = fields.handler;
  if (fields.argv) merged.argv = fields.argv;
  if (fields.simulate_ms !== undefined) merged.simulateMs = fields.simulate_ms;
  if (fields.timeout !== undefined) merged.timeoutMs = fields.timeout;
  if (fields.hard_timeout !== undefined) merged.hardTimeoutMs = fields.hard_timeout;
  if (fields.attempts !== undefined) merged.attempts = fields.attempts;
  if (fields.as !== undefined) merged.as = fields.as;
  return merged;
}

/** `ygg add`'s warning for tasks no host can run, each once, with the lines it is about. */
function modelWarnings(
  inputs: ReadonlyArray<{ line: number; input: NewTask }>,
  config: YggConfig,
  seen: SeenModels | undefined,
): string[] {
  const lines = new Map<string, number[]>();
  for (const { line, input } of inputs) {
    const warning = modelWarning({ task: input, ...handlerOf(input), config, seen });
    if (warning) lines.set(warning, [...(lines.get(warning) ?? []), line]);
  }
  return [...lines].map(([warning, at]) => {
    const shown = `${at.slice(0, 10).join(', ')}${at.length > 10 ? `, … (${at.length} in all)` : ''}`;
    return `line${at.length === 1 ? '' : 's'} ${shown}: ${warning}`;
  });
}

/** Handlers named by some line that neither ygg nor hosts.yaml's plugin folders provide. */
async function unknownHandlers(
  inputs: ReadonlyArray<{ line: number; options: AddOptions }>,
  config: YggConfig | undefined,
): Promise<LineProblem[]> {
  const named = inputs.filter(({ options }) => options.handler !== undefined);
  if (named.length === 0) return [];
  const { builtinPluginDir, loadPlugins } = await import('../plugins/loader.js');
  const plugins = await loadPlugins([builtinPluginDir(), ...(config?.pluginDirs ?? [])]);
  const known = [...plugins.byName.keys()].sort().join(', ');
  return named
    .filter(({ options }) => !plugins.byName.has(options.handler as string))
    .map(({ line, options }) => ({
      line,
      message: `no handler plugin named ${options.handler} (known: ${known})`,
    }));
}

function sourceName(source: string): string {
  return source === '-' ? 'stdin' : source;
}

/** Refuses the whole input when any line is bad, naming each line (up to `problemsShown`). */
function throwProblems(source: string, problems: readonly LineProblem[]): void {
  if (problems.length === 0) return;
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const where = (p: LineProblem) => (p.line > 0 ? `${sourceName(source)}:${p.line}` : sourceName(source));
  const lines = sorted.slice(0, problemsShown).map((p) => `${where(p)}: ${p.message}`);
  if (sorted.length > problemsShown) lines.push(`... and ${sorted.length - problemsShown} more`);
  const count = sorted.length === 1 ? 'a line' : `${sorted.length} problems`;
  throw new YggError(`${count} in ${sourceName(source)}; nothing was added:\n${lines.join('\n')}`, {
    hint: 'Fix those lines and send the whole input again.',
  });
}
