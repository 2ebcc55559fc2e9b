/** `ygg config check [--config PATH]` and `ygg config schema`. */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { findConfigPath } from '../config/discover.js';
import { hostsJsonSchema } from '../config/json-schema.js';
import { type ConfigResult, loadConfig } from '../config/load.js';
import { type ConfigProblem, formatPath, formatProblem } from '../config/problems.js';
import type { YggConfig } from '../config/types.js';
import { ExitError } from '../errors.js';
import { builtinPluginDir, loadPlugins } from '../plugins/loader.js';
import { plural } from '../text/plural.js';

export interface ConfigCheckOptions {
  cwd: string;
  configPath?: string;
  env?: Record<string, string | undefined>;
}

export interface ConfigCheckReport extends ConfigResult {
  path: string;
  source: string;
}

/**
 * Finds and checks the config, returning every problem (the caller decides how to show them):
 * the file itself, then the plugins it names (as `ygg loop` loads them: a plugin that fails to
 * load, two claiming one type, a handler no plugin provides).
 */
export async function configCheck(options: ConfigCheckOptions): Promise<ConfigCheckReport> {
  const found = findConfigPath({ configPath: options.configPath, cwd: options.cwd, env: options.env });
  const result = await loadConfig(found.path);
  if (!result.config) return { ...found, ...result };
  const problems = await pluginProblems(result.config, found.path);
  if (problems.length === 0) return { ...found, ...result };
  return { ...found, ...result, config: undefined, errors: [...result.errors, ...problems] };
}

async function pluginProblems(config: YggConfig, file: string): Promise<ConfigProblem[]> {
  const plugins = await loadPlugins([builtinPluginDir(), ...config.pluginDirs]);
  const error = (path: ConfigProblem['path'], message: string): ConfigProblem => ({
    severity: 'error',
    path,
    message,
    file,
  });
  const problems = [
    ...plugins.problems.map((p) => error(['plugins'], `${p.path} failed to load: ${p.error}`)),
    ...plugins.conflicts.map((c) => error(['plugins'], c)),
  ];
  for (const [name, type] of Object.entries(config.types)) {
    if (type.handler && !plugins.byName.has(type.handler)) {
      const known = [...plugins.byName.keys()].sort().join(', ');
      problems.push(error(['types', name, 'handler'], `no plugin named ${type.handler} (loaded: ${known})`));
    }
  }
  return problems;
}

const sourceWords: Record<string, string> = {
  flag: 'named by --config',
  env: 'named by YGG_CONFIG',
  beads: 'found beside .beads/',
  cwd: 'found in this folder',
  default: 'the shipped default',
};

/** One line saying what the config holds. */
export function summarize(config: YggConfig): string {
  const slots = config.hosts.reduce((sum, h) => sum + h.slots, 0);
  const custom = config.typeRules.length;
  const parts = [
    `${plural(config.hosts.length, 'host')} (${plural(slots, 'slot')})`,
    plural(Object.keys(config.types).length, 'type'),
    plural(custom, 'type rule'),
    `queue order ${config.queue.order}, strategy ${config.queue.strategy}`,
  ];
  if (config.tools && Object.keys(config.tools).length > 0)
    parts.push(plural(Object.keys(config.tools).length, 'tool'));
  if (config.learner) parts.push(`learner on ${config.learner.host}`);
  return parts.join(', ');
}

function label(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** `config check --json`: the verdict and every problem, errors first, each with its line and key. */
function checkJson(report: ConfigCheckReport, file: string) {
  const problem = (p: ConfigProblem) => ({
    severity: p.severity,
    file,
    line: p.line ?? null,
    key: formatPath(p.path),
    message: p.message,
    ...(p.rule ? { rule: p.rule } : {}),
  });
  return {
    ok: report.config !== undefined,
    file,
    source: report.source,
    problems: [...report.errors.map(problem), ...report.warnings.map(problem)],
  };
}

export function register(program: Command): void {
  const config = program.command('config').description('Check hosts.yaml or print its JSON schema.');
  config
    .command('check')
    .description('Validate hosts.yaml: every problem with its file, line and key path.')
    .option(
      '--config <path>',
      'the hosts.yaml to check (default: YGG_CONFIG, beside .beads/, or the shipped one)',
    )
    .option(
      '--json',
      'print {ok, file, source, problems: [{severity, file, line, key, message}]} as one object',
    )
    .action(async (flags: { config?: string; json?: boolean }) => {
      const cwd = process.cwd();
      const report = await configCheck({ cwd, configPath: flags.config });
      const file = label(report.path, cwd);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(checkJson(report, file))}\n`);
        if (!report.config) throw new ExitError(1);
        return;
      }
      const show = (problem: ConfigProblem) => `${formatProblem(problem, file)}\n`;
      for (const problem of report.errors) process.stderr.write(show(problem));
      for (const problem of report.warnings) process.stderr.write(show(problem));
      if (!report.config) {
        const count = report.errors.length;
        process.stderr.write(`${file}: ${plural(count, 'error')}\n`);
        throw new ExitError(1);
      }
      process.stdout.write(`OK ${file} (${sourceWords[report.source]}): ${summarize(report.config)}\n`);
    });
  config
    .command('schema')
    .description('Print the JSON schema of hosts.yaml (for editors).')
    .action(() => {
      process.stdout.write(`${JSON.stringify(hostsJsonSchema(), null, 2)}\n`);
    });
}
