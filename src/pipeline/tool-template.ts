/** Tool argv templates: `{key}` placeholders inside argv elements, filled from named values. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { YggError } from '../errors.js';

const placeholder = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The placeholder names a template uses. */
export function templateKeys(argv: readonly string[]): string[] {
  const keys = new Set<string>();
  for (const arg of argv) for (const match of arg.matchAll(placeholder)) keys.add(match[1]!);
  return [...keys];
}

/**
 * Fill every `{key}`: each argv element stays one element, whatever the value holds (no shell
 * ever sees it). A placeholder with no value is an error naming it.
 */
export function fillTemplate(
  argv: readonly string[],
  values: Record<string, string>,
  what: string,
): string[] {
  return argv.map((arg) =>
    arg.replace(placeholder, (_whole, key: string) => {
      const value = values[key];
      if (value === undefined)
        throw new YggError(`${what}: no value for {${key}}`, {
          hint: `pass ${key} in the call's args or files, or remove it from the template`,
        });
      return value;
    }),
  );
}

/**
 * The identity of a tool call: SHA-256 over the tool's name and template, its args (key order
 * does not matter) and the contents of every file it reads.
 */
export async function toolCallKey(
  name: string,
  template: readonly string[],
  args: Record<string, string>,
  files: Record<string, string>,
): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([name, template]));
  for (const key of Object.keys(args).sort()) hash.update(JSON.stringify(['arg', key, args[key]]));
  for (const key of Object.keys(files).sort()) {
    const content = await readFile(files[key]!);
    hash.update(JSON.stringify(['file', key, createHash('sha256').update(content).digest('hex')]));
  }
  return hash.digest('hex');
}
