/** A problem found in hosts.yaml: where (key path, file, line) and what. */

export type ConfigPath = ReadonlyArray<string | number>;

export interface ConfigProblem {
  severity: 'error' | 'warning';
  /** Key path inside the file, e.g. `['hosts', 'surtr', 'slots']`. */
  path: ConfigPath;
  message: string;
  /** Name of the rule check that found it; absent for YAML and schema problems. */
  rule?: string;
  /** The file, as it was named when loaded. */
  file?: string;
  /** 1-based line and column of the key (or the closest enclosing key that exists). */
  line?: number;
  column?: number;
}

/** `hosts.surtr.slots`, `types.code.hosts[1]`; the empty path is the whole file. */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  }
  return text;
}

/** `hosts.yaml:12: hosts.surtr.slots: expected a positive integer`, with `(warning)` for warnings. */
export function formatProblem(problem: ConfigProblem, fileLabel = problem.file): string {
  const where = [fileLabel, problem.line].filter((part) => part !== undefined).join(':');
  const path = formatPath(problem.path);
  const text = [where, path, problem.message].filter((part) => part !== undefined && part !== '').join(': ');
  return problem.severity === 'warning' ? `${text} (warning)` : text;
}

/** The closest of `candidates` to `word`, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
