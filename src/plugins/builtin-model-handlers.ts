/**
 * The built-in handlers that ask a model endpoint (`needsModel`), with the types each serves.
 * `ygg add` reads this instead of loading the plugins (which costs more than the rest of an add);
 * a test keeps it in step with the plugins themselves.
 */
export const builtinModelHandlers: Readonly<Record<string, readonly string[]>> = {
  'code-generation': ['code-generation'],
  'code-refactor': ['code-refactor'],
  'code-review': ['code-review'],
  general: ['general'],
  reasoning: ['reasoning'],
  summarize: ['summarize'],
  'text-processing': ['text-processing', 'text-generation'],
};

/** The built-in handler that runs a type when nothing names one, when it needs a model. */
export function builtinModelHandlerFor(type: string): string | undefined {
  return Object.entries(builtinModelHandlers).find(([, types]) => types.includes(type))?.[0];
}
