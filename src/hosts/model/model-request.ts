import { labelsOf, type Task } from '../../store/task.js';

/** The label prefix that asks for a model, unless hosts.yaml sets `queue.model_label_prefix`. */
export const defaultModelLabelPrefix = 'model:';

/** The model a task asks for with a label `model:NAME` (prefix configurable), if any. */
export function modelRequest(
  task: Pick<Task, 'labels'>,
  prefix: string = defaultModelLabelPrefix,
): string | undefined {
  for (const label of labelsOf(task)) {
    if (!label.startsWith(prefix)) continue;
    const name = label.slice(prefix.length).trim();
    if (name) return name;
  }
  return undefined;
}

/**
 * Whether a served model name answers a request: exact (case-insensitive), or Ollama's rule that
 * a name without a tag means `:latest` (`llama3` is served by `llama3:latest`).
 */
export function sameModel(served: string, requested: string): boolean {
  const a = served.toLowerCase();
  const b = requested.toLowerCase();
  if (a === b) return true;
  const tagless = (name: string) => (name.endsWith(':latest') ? name.slice(0, -':latest'.length) : name);
  return tagless(a) === tagless(b);
}
