/** `ygg config check [--config PATH]` and `ygg config schema`. */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { findConfigPath } from '../config/discover.js';
import { hostsJsonSchema } from '../config/json-schema.js';
import { type ConfigResult, loadConfig } from '../config/load.js';
import { type ConfigProblem, formatProblem } from '../config/problems.js';
import type { YggConfig } from '../config/types.js';
import { ExitError } from '../errors.js';

export interface ConfigCheckOptions {
  cwd: string;
  configPath?: string;
  env?: Record<string, string | undefined>;
}

export interface ConfigCheckReport extends ConfigResult {
  path: string;
  source: string;
}

/** Finds and checks the config, returning every problem (the caller decides how to show them). */
export async function configCheck(options: ConfigCheckOptions): Promise<ConfigCheckReport> {
  const found = findConfigPath({ configPath: options.configPath, cwd: options.cwd, env: options.env });
  return { ...found, ...(await loadConfig(found.path)) };
}

const sourceWords: Record<string, string> = {
  flag: 'named by --config',
  env: 'named by YGG_CONFIG',
  beads: 'found beside .beads/',
  default: 'the shipped default',
};

/** One line saying what the config holds. */
export function summarize(config: YggConfig): string {
  const slots = config.hosts.reduce((sum, h) => sum + h.slots, 0);
  const custom = config.typeRules.length;
  const parts = [
    `${config.hosts.length} host${config.hosts.length === 1 ? '' : 's'} (${slots} slots)`,
    `${Object.keys(config.types).length} types`,
    `${custom} type rules`,
    `queue order ${config.queue.order}, strategy ${config.queue.strategy}`,
  ];
  if (config.tools && Object.keys(config.tools).length > 0)
    parts.push(`${Object.keys(config.tools).length} tools`);
  if (config.learner) parts.push(`learner on ${config.learner.host}`);
  return parts.join(', ');
}

function label(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') ? rel : path;
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
    .action(async (flags: { config?: string }) => {
      const cwd = process.cwd();
      const report = await configCheck({ cwd, configPath: flags.config });
      const file = label(report.path, cwd);
      const show = (problem: ConfigProblem) => `${formatProblem(problem, file)}\n`;
      for (const problem of report.errors) process.stderr.write(show(problem));
      for (const problem of report.warnings) process.stderr.write(show(problem));
      if (!report.config) {
        const count = report.errors.length;
        process.stderr.write(`${file}: ${count} error${count === 1 ? '' : 's'}\n`);
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
