import type { Command } from 'commander';
import { noSuchTask, UsageError } from '../errors.js';
import { connectStatusFor } from '../observe/monitor/client.js';
import { formatDuration } from '../observe/monitor/format.js';
import type { StatusSnapshot } from '../observe/snapshot.js';
import { openStore } from '../store/open.js';
import { statusOf, type Task, yggOf } from '../store/task.js';
import { plural } from '../text/plural.js';
import type { CommonOptions } from './runtime.js';
import { storeOptionHelp } from './store-help.js';

export interface LogsOptions extends CommonOptions {
  follow?: boolean;
  /** Print the log once as one JSON object (not with `follow`). */
  json?: boolean;
}

/** A task's log as `ygg logs --json` prints it: its attempts and its comments, whole. */
export function taskLogJson(task: Task): Record<string, unknown> {
  const ygg = yggOf(task);
  return {
    id: task.id,
    title: task.title,
    status: statusOf(task),
    close_reason: task.close_reason ?? null,
    attempts: ygg.history ?? [],
    dead: ygg.dead ?? null,
    comments: task.comments ?? [],
  };
}

/** A task's attempts (from its history) and its comments (results and errors), as text. */
export function formatTaskLog(task: Task): string {
  const ygg = yggOf(task);
  const lines = [
    `${task.id}  ${task.title}`,
    `status ${statusOf(task)}${task.close_reason ? ` (${task.close_reason})` : ''}`,
  ];
  const history = ygg.history ?? [];
  lines.push('', history.length ? 'attempts:' : 'attempts: none yet');
  for (const a of history) {
    const ran = a.end ? `  ${formatDuration(a.run_ms ?? Date.parse(a.end) - Date.parse(a.start))}` : '';
    lines.push(`  #${a.attempt} on ${a.host}  ${a.start}  ${a.outcome ?? 'running'}${ran}`);
    if (a.error) lines.push(`     ${a.error.split('\n')[0]}`);
  }
  if (ygg.dead) lines.push(`dead letter since ${ygg.dead.at} after ${plural(ygg.dead.attempts, 'attempt')}`);
  for (const c of task.comments ?? []) lines.push('', `--- ${c.author} at ${c.created_at}`, c.text);
  return `${lines.join('\n')}\n`;
}

interface LiveEvent {
  taskId?: string;
  text?: string;
  attempt?: number;
  host?: string;
  error?: string;
}

const endings = new Set(['task:succeeded', 'task:dead', 'task:cancelled', 'task:lost']);

/**
 * Prints the task's log; with `follow` while it runs under a live loop, streams its progress
 * until it ends, then prints what the run added.
 */
export async function logsCommand(
  id: string,
  options: LogsOptions,
  write: (text: string) => void,
): Promise<void> {
  await using store = await openStore({
    ...(options.store ? { path: options.store } : {}),
    cwd: options.cwd ?? process.cwd(),
  });
  const task = store.get(id);
  if (!task) throw noSuchTask(id, store.path);
  if (options.json) {
    write(`${JSON.stringify(taskLogJson(task))}\n`);
    return;
  }
  write(formatTaskLog(task));
  const active = ['open', 'in_progress'].includes(statusOf(task));
  if (!options.follow || !active) return;
  const client = await connectStatusFor(store, id);
  if (!client) {
    write('(no loop running: nothing to follow)\n');
    return;
  }
  const stop = new AbortController();
  const seenComments = task.comments?.length ?? 0;
  const show = (event: string, payload: LiveEvent) => {
    if (event === 'task:progress') write(`[#${payload.attempt} ${payload.host}] ${payload.text}\n`);
    else if (event === 'task:started') write(`[#${payload.attempt} ${payload.host}] started\n`);
    else if (event === 'task:failed')
      write(`[#${payload.attempt} ${payload.host}] failed: ${payload.error}\n`);
    if (endings.has(event)) {
      write(`${event.slice(5)}\n`);
      stop.abort();
    }
  };
  // Events wait here while the output written before we attached is fetched: the snapshot sent
  // on connecting says how many lines that is, so each line is shown once, in order.
  let held: Array<[string, LiveEvent]> | undefined;
  let replayed = false;
  const replay = async (before: number) => {
    const output = await client.output(id).catch(() => undefined);
    for (const [i, line] of (output?.lines ?? []).entries())
      if ((output?.first ?? 1) + i <= before) write(`[#${output?.attempt} ${output?.host}] ${line}\n`);
    for (const [event, payload] of held ?? []) show(event, payload);
    held = undefined;
  };
  await client.events((event, data) => {
    if (event === 'snapshot' && !stop.signal.aborted && held === undefined && !replayed) {
      replayed = true;
      held = [];
      const running = (data as StatusSnapshot).running?.find((r) => r.id === id);
      void replay(running?.outputLines ?? 0);
      return;
    }
    const payload = data as LiveEvent;
    if (payload.taskId !== id) return;
    if (held) held.push([event, payload]);
    else show(event, payload);
  }, stop.signal);
  await store.load();
  for (const c of store.get(id)?.comments?.slice(seenComments) ?? [])
    write(`\n--- ${c.author} at ${c.created_at}\n${c.text}\n`);
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("a task's attempts, output and (with -f, while it runs) its progress stream")
    .argument('<id>', 'task id')
    .option('-f, --follow', 'stream progress live until the task ends')
    .option('--store <path|url>', storeOptionHelp)
    .option('--json', 'print {id, title, status, attempts, dead, comments} as one JSON object')
    .action(async (id: string, flags: LogsOptions) => {
      if (flags.json && flags.follow)
        throw new UsageError('--json prints the log once; --follow streams it as text', {
          hint: 'see `ygg logs --help`',
        });
      await logsCommand(id, flags, (text) => process.stdout.write(text));
    });
}
