import { stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { runDemo } from '../app/demo.js';
import { openDemoFolder } from '../app/demo-folder.js';
import { unreachableHosts } from '../app/demo-hosts.js';
import { type DemoMode, type DemoOrder, demoOrders, planDemo } from '../app/demo-plan.js';
import { parseDurationText } from '../config/units.js';
import { ExitError, UsageError, YggError } from '../errors.js';
import { timelineSvg } from '../observe/charts/timeline-svg.js';
import { timelineText } from '../observe/charts/timeline-text.js';
import { type DemoRun, type DemoSetup, demoJson, formatHeader, formatRuns } from './demo-format.js';

interface DemoFlags {
  dir?: string;
  config?: string;
  unitMs: number;
  legacy?: boolean;
  compare?: boolean;
  order?: DemoOrder;
  svg?: string;
  json?: boolean;
}

/** How long the hosts may take to answer before the demo gives up on them. */
const probeTimeoutMs = 5000;
const maxUnitMs = 10_000;

/** `--unit-ms`: a positive number of milliseconds (a unit may be given: 20ms, 0.1s), at most 10 s. */
export function parseUnitMs(value: string): number {
  let ms: number;
  try {
    ms = parseDurationText(value, 'milliseconds');
  } catch {
    ms = Number.NaN;
  }
  if (!Number.isFinite(ms) || ms < 1 || ms > maxUnitMs)
    throw new InvalidArgumentError(
      `use a number of milliseconds from 1 to ${maxUnitMs} (such as 20, or 50ms).`,
    );
  return ms;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the Python dispatcher’s 30-task benchmark on a hosts.yaml: its makespan against the lower bound and the legacy dispatcher, drawn per slot',
    )
    .option(
      '--dir <path>',
      'folder for the demo store, kept (default: a temporary folder, removed at the end)',
    )
    .option('--config <path>', 'hosts.yaml to run it on (default: the shipped one)')
    .option('--unit-ms <ms>', 'simulated model time per work unit, 1 to 10000 ms', parseUnitMs, 50)
    .option('--legacy', 'one running task per type, as the Python dispatcher first did')
    .option('--compare', 'run legacy, then the hosts.yaml’s own mode, on the same workload; show both')
    .addOption(
      new Option(
        '--order <order>',
        'fifo, or makespan: longest expected first (default: the hosts.yaml’s)',
      ).choices(demoOrders),
    )
    .option('--svg <file>', 'also draw the per-slot timeline as an SVG picture')
    .option('--json', 'print the summary as one JSON object')
    .action(async (flags: DemoFlags) => {
      if (flags.compare && flags.legacy)
        throw new UsageError('--compare already runs the legacy dispatcher beside the other: drop --legacy', {
          hint: 'see `ygg demo --help`',
        });
      if (flags.svg) await checkFolderOf(flags.svg);
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        if (!controller.signal.aborted) controller.abort(signal);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await runDemoCommand(flags, controller.signal);
      } catch (error) {
        if (!controller.signal.aborted) throw error;
        // A temporary folder is gone by now: `await using` removed it on the way out.
        const folder = flags.dir ? `its store stays in ${flags.dir}` : 'its temporary folder was removed';
        process.stderr.write(`ygg: ${controller.signal.reason}: demo stopped; ${folder}\n`);
        throw new ExitError(130);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

async function runDemoCommand(flags: DemoFlags, signal: AbortSignal): Promise<void> {
  const out = (text: string) => {
    if (!flags.json) process.stdout.write(text);
  };
  await using folder = await openDemoFolder(flags.dir);
  const plan = await planDemo({
    cwd: folder.path,
    ...(flags.config ? { config: resolve(flags.config) } : {}),
    ...(flags.order ? { order: flags.order } : {}),
  });
  const modes: DemoMode[] = flags.compare
    ? ['legacy', plan.concurrentMode]
    : [flags.legacy ? 'legacy' : plan.concurrentMode];
  const setup: DemoSetup = { plan, unitMs: flags.unitMs, modes, folder };
  out(formatHeader(setup));

  const unreachable = await unreachableHosts(plan.config, probeTimeoutMs, signal);
  signal.throwIfAborted();
  if (unreachable.length > 0) {
    const list = unreachable.map((u) => `${u.host} (${u.where ? `${u.where}: ` : ''}${u.why})`).join(', ');
    throw new YggError(
      `${unreachable.length} of ${plan.config.hosts.length} hosts cannot be reached, so the demo did not run: ${list}`,
      { hint: '`ygg doctor --config FILE` checks each host step by step' },
    );
  }

  const runs: DemoRun[] = [];
  for (const mode of modes) {
    out(`running ${mode} ...\n`);
    const summary = await runDemo({
      dir: modes.length > 1 ? join(folder.path, mode) : folder.path,
      config: plan.configPath,
      unitMs: flags.unitMs,
      legacy: mode === 'legacy',
      order: plan.order,
      signal,
    });
    runs.push({ mode, summary });
  }
  const panels = runs.map((r) => ({
    title: `${r.mode}: ${(r.summary.makespanMs / 1000).toFixed(2)} s`,
    ...r.summary.timeline,
  }));
  if (flags.svg) {
    const title = `ygg demo: seed30 on ${plan.configPath.split('/').pop()}, ${modes.join(' vs ')}, ${plan.order}, ${flags.unitMs} ms per unit`;
    await writeFile(flags.svg, timelineSvg(panels, { title }));
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(demoJson(setup, runs))}\n`);
  } else {
    out(`\n${formatRuns(setup, runs)}\n`);
    const tty = process.stdout.isTTY === true;
    const colour = tty && !process.env.NO_COLOR;
    out(timelineText(panels, { width: tty ? (process.stdout.columns ?? 100) : 100, colour }));
    if (flags.svg) out(`\ntimeline drawn in ${flags.svg}\n`);
  }
  const open = runs.filter((r) => r.summary.closed < r.summary.tasks);
  if (open.length > 0) {
    const which = open.map((r) => `${r.mode}: ${r.summary.closed} of ${r.summary.tasks} closed`).join('; ');
    throw new YggError(`not every task closed (${which})`);
  }
}

async function checkFolderOf(file: string): Promise<void> {
  const folder = dirname(resolve(file));
  const found = await stat(folder).catch(() => undefined);
  if (!found?.isDirectory())
    throw new UsageError(`--svg ${file}: the folder ${folder} does not exist`, {
      hint: 'give a file in an existing folder',
    });
  // Checked now, not after a whole run that could then not be drawn.
  if ((await stat(file).catch(() => undefined))?.isDirectory())
    throw new UsageError(`--svg ${file} is a folder: give a file to write the picture to`, {
      hint: 'such as --svg run.svg',
    });
}
