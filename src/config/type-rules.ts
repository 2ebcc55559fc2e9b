import type { Task } from '../store/task.js';
import type { TypeRule, YggConfig } from './types.js';

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
 * A task's type: the first rule that matches (labels, then title prefix, then a word in the
 * title, then the Beads issue_type), else the issue_type map, else `general`.
 */
export function classifyType(
  task: Pick<Task, 'title' | 'labels' | 'issue_type'>,
  config: Pick<YggConfig, 'typeRules' | 'issueTypeMap'> = {
    typeRules: [...defaultTypeRules],
    issueTypeMap: {},
  },
): string {
  const labels = task.labels ?? [];
  const title = (task.title ?? '').toLowerCase();
  for (const r of config.typeRules) {
    if (r.labels.some((l) => labels.includes(l))) return r.type;
    if (r.titlePrefixes.some((p) => title.startsWith(p.toLowerCase()))) return r.type;
    if (r.titleContains.some((w) => title.includes(w.toLowerCase()))) return r.type;
    if (task.issue_type && r.issueTypes.includes(task.issue_type)) return r.type;
  }
  const mapped = task.issue_type ? config.issueTypeMap[task.issue_type] : undefined;
  return mapped ?? fallbackType;
}
