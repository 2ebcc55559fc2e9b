/**
 * Named rule checks run after the schema: what a schema cannot say (names that must exist,
 * numbers that must agree). Each returns problems with the key path they concern; the loader
 * adds the line.
 */
import { existsSync } from 'node:fs';
import { gpuIndices, resolveLocalPath } from './normalize.js';
import { type ConfigPath, type ConfigProblem, closest } from './problems.js';
import type { HostsFile } from './schema.js';
import type { YggConfig } from './types.js';
import { parseDuration } from './units.js';

export interface RuleContext {
  file: HostsFile;
  config: YggConfig;
  baseDir: string;
}

type Report = (severity: ConfigProblem['severity'], path: ConfigPath, message: string) => void;
type Rule = (context: RuleContext, report: Report) => void;

const didYouMean = (word: string, candidates: Iterable<string>): string => {
  const guess = closest(word, candidates);
  return guess ? ` (did you mean "${guess}"?)` : '';
};

const hostNames = (file: HostsFile): string[] => Object.keys(file.hosts ?? {});

/** Each rule, by the name problems carry. */
export const configRules: Record<string, Rule> = {
  'no-hosts'({ file }, report) {
    if (hostNames(file).length === 0)
      report('error', ['hosts'], 'no hosts defined: add at least one under `hosts:`');
  },

  'host-zero-slots'({ file }, report) {
    for (const [name, host] of Object.entries(file.hosts ?? {})) {
      if (host.slots === 0) {
        report(
          'error',
          ['hosts', name, 'slots'],
          'a host with 0 slots can never run a task; give it slots or remove it',
        );
      }
    }
  },

  'host-gpu-slots'({ file }, report) {
    for (const [name, host] of Object.entries(file.hosts ?? {})) {
      const gpus = gpuIndices(host.gpus);
      if (!gpus) {
        if (host.slots_per_gpu !== undefined) {
          report(
            'error',
            ['hosts', name, 'slots_per_gpu'],
            'slots_per_gpu needs `gpus` (a count or a list of indices)',
          );
        }
        continue;
      }
      const duplicate = gpus.find((gpu, i) => gpus.indexOf(gpu) !== i);
      if (duplicate !== undefined)
        report('error', ['hosts', name, 'gpus'], `GPU ${duplicate} is listed twice`);
      const bound = gpus.length * (host.slots_per_gpu ?? 1);
      if (host.slots !== undefined && host.slots !== 0 && host.slots !== bound) {
        report(
          'error',
          ['hosts', name, 'slots'],
          `slots is ${host.slots} but gpus x slots_per_gpu is ${bound}; drop slots or make them agree`,
        );
      }
    }
  },

  'local-host-ssh-keys'({ file }, report) {
    const sshOnly = [
      'address',
      'port',
      'user',
      'key',
      'known_hosts',
      'fingerprint',
      'keepalive',
      'max_channels',
    ];
    for (const [name, host] of Object.entries(file.hosts ?? {})) {
      if ((host.transport ?? 'local') !== 'local') continue;
      for (const key of sshOnly.filter((k) => k in host)) {
        report('warning', ['hosts', name, key], `ignored: \`${key}\` only applies to \`transport: ssh\``);
      }
    }
  },

  'ssh-key-file'({ file, baseDir }, report) {
    for (const [name, host] of Object.entries(file.hosts ?? {})) {
      if (host.transport !== 'ssh') continue;
      for (const key of ['key', 'known_hosts'] as const) {
        const path = host[key];
        if (path && !existsSync(resolveLocalPath(path, baseDir))) {
          report('warning', ['hosts', name, key], `file not found: ${resolveLocalPath(path, baseDir)}`);
        }
      }
    }
  },

  'type-hosts'({ file }, report) {
    const hosts = file.hosts ?? {};
    for (const [type, entry] of Object.entries(file.types ?? {})) {
      if (!entry.hosts) continue;
      if (entry.hosts.length === 0) {
        report(
          'warning',
          ['types', type, 'hosts'],
          'no eligible hosts: tasks of this type will be reported unroutable',
        );
      }
      entry.hosts.forEach((host, i) => {
        const path = ['types', type, 'hosts', i];
        const known = hosts[host];
        if (!known) report('error', path, `unknown host "${host}"${didYouMean(host, Object.keys(hosts))}`);
        else if (entry.hosts!.indexOf(host) !== i) report('error', path, `host "${host}" is listed twice`);
        else if (known.roles && !known.roles.includes('inference')) {
          report(
            'warning',
            path,
            `host "${host}" does not have the inference role; it will still run this type`,
          );
        }
      });
    }
  },

  'type-estimate-hosts'({ file }, report) {
    for (const [type, entry] of Object.entries(file.types ?? {})) {
      if (typeof entry.estimate !== 'object') continue;
      for (const host of Object.keys(entry.estimate)) {
        if (!file.hosts?.[host]) {
          report(
            'error',
            ['types', type, 'estimate', host],
            `unknown host "${host}"${didYouMean(host, hostNames(file))}`,
          );
        }
      }
    }
  },

  'type-produced-by-rule'({ file, config }, report) {
    const produced = new Set([
      ...config.typeRules.map((r) => r.type),
      ...Object.values(config.issueTypeMap),
      'general',
    ]);
    for (const type of Object.keys(file.types ?? {})) {
      if (!produced.has(type)) {
        report(
          'warning',
          ['types', type],
          'no type rule or issue_types entry gives this type; add one under `type_rules:`',
        );
      }
    }
  },

  'timeouts-ordered'({ file }, report) {
    const sections: Array<[ConfigPath, { timeout?: number | string; hard_timeout?: number | string }]> = [
      [['defaults'], file.defaults ?? {}],
      ...Object.entries(file.types ?? {}).map(([type, entry]): [ConfigPath, TimeoutPair] => [
        ['types', type],
        entry,
      ]),
    ];
    for (const [path, entry] of sections) {
      if (entry.timeout === undefined || entry.hard_timeout === undefined) continue;
      if (parseDuration(entry.hard_timeout) < parseDuration(entry.timeout)) {
        report(
          'error',
          [...path, 'hard_timeout'],
          'hard_timeout is shorter than timeout; the hard one must come last',
        );
      }
    }
  },

  'backoff-ordered'({ file }, report) {
    const sections: Array<[ConfigPath, BackoffEntry | undefined]> = [
      [['defaults', 'backoff'], file.defaults?.backoff],
      ...Object.entries(file.types ?? {}).map(([type, entry]): [ConfigPath, BackoffEntry | undefined] => [
        ['types', type, 'backoff'],
        entry.backoff,
      ]),
    ];
    for (const [path, entry] of sections) {
      if (entry?.base === undefined || entry.max === undefined) continue;
      if (parseDuration(entry.max) < parseDuration(entry.base)) {
        report('error', [...path, 'max'], 'backoff max is shorter than base');
      }
    }
  },

  'vram-fits'({ file, config }, report) {
    for (const [type, entry] of Object.entries(file.types ?? {})) {
      if (entry.vram_gb === undefined) continue;
      for (const host of config.types[type]?.hosts ?? []) {
        const memory = file.hosts?.[host]?.gpu_memory_gb;
        if (memory !== undefined && memory < entry.vram_gb) {
          report(
            'warning',
            ['types', type, 'vram_gb'],
            `needs ${entry.vram_gb} GB but host "${host}" has ${memory} GB: it will never run there`,
          );
        }
      }
    }
  },

  'models-by-type'({ file, config }, report) {
    for (const [name, host] of Object.entries(file.hosts ?? {})) {
      for (const [type, override] of Object.entries(host.models_by_type ?? {})) {
        const path = ['hosts', name, 'models_by_type', type];
        const missing = (['api', 'url', 'model'] as const).filter((k) => !override[k] && !host.model?.[k]);
        if (missing.length > 0) {
          report('error', path, `missing ${missing.join(', ')} (set them here or in this host's \`model\`)`);
        }
        if (!config.types[type])
          report(
            'warning',
            path,
            `no task gets type "${type}"${didYouMean(type, Object.keys(config.types))}`,
          );
      }
    }
  },

  'learner-host'({ file }, report) {
    const learner = file.learner;
    if (!learner) return;
    const host = file.hosts?.[learner.host];
    if (!host) {
      report(
        'error',
        ['learner', 'host'],
        `unknown host "${learner.host}"${didYouMean(learner.host, hostNames(file))}`,
      );
    } else if (host.roles && !host.roles.includes('learner')) {
      report('warning', ['learner', 'host'], `host "${learner.host}" does not list the learner role`);
    }
  },

  'tools-have-hosts'({ file, config }, report) {
    if (Object.keys(file.tools ?? {}).length === 0) return;
    if (!config.hosts.some((h) => h.roles.includes('tools'))) {
      report(
        'warning',
        ['tools'],
        "no host has the tools role: tool calls cannot run; add `tools` to a host's roles",
      );
    }
  },

  'type-rule-matches'({ file }, report) {
    (file.type_rules ?? []).forEach((rule, i) => {
      if (!rule.labels && !rule.title_prefix && !rule.title_contains && !rule.issue_type) {
        report(
          'warning',
          ['type_rules', i],
          'this rule has no labels, title_prefix, title_contains or issue_type: it never matches',
        );
      }
    });
  },

  'plugin-dirs-exist'({ file, baseDir }, report) {
    (file.plugins?.dirs ?? []).forEach((dir, i) => {
      if (!existsSync(resolveLocalPath(dir, baseDir))) {
        report('warning', ['plugins', 'dirs', i], `folder not found: ${resolveLocalPath(dir, baseDir)}`);
      }
    });
  },

  'pipeline-files-exist'({ file, baseDir }, report) {
    const check = (path: ConfigPath, local: string) => {
      if (!existsSync(resolveLocalPath(local, baseDir))) {
        report('warning', path, `file not found: ${resolveLocalPath(local, baseDir)}`);
      }
    };
    for (const [name, tool] of Object.entries(file.tools ?? {})) {
      for (const [key, local] of Object.entries(tool.files ?? {}))
        check(['tools', name, 'files', key], local);
    }
    for (const [key, local] of Object.entries(file.learner?.files ?? {}))
      check(['learner', 'files', key], local);
    if (file.learner?.initial_policy) check(['learner', 'initial_policy'], file.learner.initial_policy);
  },

  'status-loopback'({ file }, report) {
    const host = file.status?.host;
    if (host && !['127.0.0.1', '::1', 'localhost'].includes(host)) {
      report(
        'warning',
        ['status', 'host'],
        `the status server listens on ${host}, beyond this machine; every request will need the token`,
      );
    }
  },

  'notify-target'({ file }, report) {
    if (file.notify && !file.notify.command && !file.notify.webhook) {
      report('warning', ['notify'], 'neither `command` nor `webhook` is set: nothing will be notified');
    }
  },
};

type TimeoutPair = { timeout?: number | string; hard_timeout?: number | string };
type BackoffEntry = { base?: number | string; max?: number | string };

/** Runs every rule; a rule that throws is reported as an error rather than hiding the others. */
export function checkRules(context: RuleContext): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [rule, check] of Object.entries(configRules)) {
    const report: Report = (severity, path, message) => problems.push({ severity, path, message, rule });
    try {
      check(context, report);
    } catch (error) {
      report('error', [], `rule ${rule} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}
