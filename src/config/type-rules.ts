import { labelsOf, type Task } from '../store/task.js';
import type { TypeConfig, TypeRule, YggConfig } from './types.js';

const rule = (type: string, parts: Partial<Omit<TypeRule, 'type'>>): TypeRule => ({
  type,
  labels: parts.labels ?? [],
  titlePrefixes: parts.titlePrefixes ?? [],
  titleContains: parts.titleContains ?? [],
  issueTypes: parts.issueTypes ?? [],
});

/** The Python dispatcher's rules: type labels, a `code:` title, "analyze" means reasoning. */
export const defaultTypeRules: readonly TypeRule[] = [
  rule('code-generation', { labels: ['code-generation'], titlePrefixes: ['code:'] }),
  rule('code-refactor', { labels: ['code-refactor'] }),
  rule('code-review', { labels: ['code-review'] }),
  rule('text-processing', { labels: ['text-processing'] }),
  rule('text-generation', { labels: ['text-generation'] }),
  rule('summarize', { labels: ['summarize'] }),
  rule('reasoning', { labels: ['reasoning'], titleContains: ['analyze'] }),
];

export const fallbackType = 'general';

/**
 * A task's type. Each kind of evidence is tried across all rules before the next kind, so a
 * label always wins over a title (the Python dispatcher checked labels first): labels, then a
 * label naming a type declared under `types:` (what `ygg add --type` writes), then a title prefix, then a word in the title, then the Beads issue_type named by a rule, then the
 * issue_type map, else `general`. Within one kind, the first rule in order wins.
 */
export function classifyType(
  task: Pick<Task, 'title' | 'labels' | 'issue_type'>,
  config: Pick<YggConfig, 'typeRules' | 'issueTypeMap'> & Partial<Pick<YggConfig, 'types'>> = {
    typeRules: [...defaultTypeRules],
    issueTypeMap: {},
  },
): string {
  const labels = labelsOf(task);
  const title = (task.title ?? '').toLowerCase();
  const issueType = task.issue_type;
  const matchers: Array<(r: TypeRule) => boolean> = [
    (r) => r.labels.some((l) => labels.includes(l)),
    (r) => r.titlePrefixes.some((p) => title.startsWith(p.toLowerCase())),
    (r) => r.titleContains.some((w) => title.includes(w.toLowerCase())),
    (r) => issueType !== undefined && r.issueTypes.includes(issueType),
  ];
  for (const [i, matches] of matchers.entries()) {
    const found = config.typeRules.find(matches);
    if (found) return found.type;
    // After the label rules: a label that names a type hosts.yaml declares (`ygg add --type`).
    const named =
      i === 0 && config.types ? labels.find((l) => Object.hasOwn(config.types ?? {}, l)) : undefined;
    if (named) return named;
  }
  const mapped = issueType ? config.issueTypeMap[issueType] : undefined;
  return mapped ?? fallbackType;
}

/**
 * A type's settings; a type hosts.yaml does not list runs on the inference hosts (or hosts with
 * no roles) with the defaults.
 */
export function typeConfigFor(config: YggConfig, type: string): TypeConfig {
  const known = config.types[type];
  if (known) return known;
  return {
    name: type,
    hosts: config.hosts
      .filter((h) => h.roles.includes('inference') || h.roles.length === 0)
      .map((h) => h.name),
    backoff: config.defaults.backoff,
    estimateMsByHost: {},
    releaseSlotOnTool: true,
  };
}
