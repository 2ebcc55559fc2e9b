import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Plugin } from './api.js';

export interface PluginProblem {
  path: string;
  error: string;
}

export interface PluginSet {
  /** Every loaded plugin by name. */
  byName: ReadonlyMap<string, Plugin>;
  /** The plugin registered for each type. */
  byType: ReadonlyMap<string, Plugin>;
  /** Plugins that failed to load: reported, while the others still load. */
  problems: readonly PluginProblem[];
  /** Two plugins claiming one type: a configuration error. */
  conflicts: readonly string[];
}

const loadable = new Set(['.js', '.mjs', '.ts', '.mts']);

/** The built-in plugins: plugins/ beside src/ (or beside dist/src when running compiled). */
export function builtinPluginDir(): string {
  return fileURLToPath(new URL('../../plugins/', import.meta.url));
}

/**
 * Loads every plugin module directly inside the given folders (sub-folders hold their helpers).
 * Later folders' plugins replace earlier ones of the same name, so users can override built-ins.
 */
export async function loadPlugins(dirs: readonly string[]): Promise<PluginSet> {
  const byName = new Map<string, Plugin>();
  const problems: PluginProblem[] = [];
  for (const dir of dirs) {
    for (const path of await moduleFiles(dir, problems)) {
      try {
        const plugin = validate(await importModule(path), path);
        byName.set(plugin.name, plugin);
      } catch (error) {
        problems.push({ path, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  const byType = new Map<string, Plugin>();
  const conflicts: string[] = [];
  for (const plugin of byName.values()) {
    for (const type of plugin.types) {
      const other = byType.get(type);
      if (other)
        conflicts.push(
          `type "${type}" is claimed by both plugin "${other.name}" and plugin "${plugin.name}"`,
        );
      else byType.set(type, plugin);
    }
  }
  return { byName, byType, problems, conflicts };
}

async function moduleFiles(dir: string, problems: PluginProblem[]): Promise<string[]> {
  const root = resolve(dir);
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    problems.push({ path: root, error: `cannot read plugin folder: ${(error as Error).message}` });
    return [];
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (!loadable.has(extname(name)) || name.endsWith('.d.ts') || name.endsWith('.test.ts')) continue;
    const path = join(root, name);
    if ((await stat(path)).isFile()) files.push(path);
  }
  // Compiled output holds both `x.js` and nothing else; a source tree holds `x.ts`. Never load both.
  const stems = new Set(files.filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)));
  return files.filter((f) => !(f.endsWith('.ts') && stems.has(f.slice(0, -3))));
}

/** `.ts` modules load through tsx without a build step; JavaScript through plain import(). */
export async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  if (/\.m?ts$/.test(path)) {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}

function validate(module: Record<string, unknown>, path: string): Plugin {
  const plugin = module.plugin as Partial<Plugin> | undefined;
  if (!plugin || typeof plugin !== 'object') throw new Error(`${path} has no named export "plugin"`);
  if (typeof plugin.name !== 'string' || plugin.name === '')
    throw new Error(`${path}: plugin.name must be a non-empty string`);
  if (!Array.isArray(plugin.types) || plugin.types.some((t) => typeof t !== 'string')) {
    throw new Error(`${path}: plugin.types must be an array of type names`);
  }
  if (typeof plugin.run !== 'function') throw new Error(`${path}: plugin.run must be a function (task, ctx)`);
  return plugin as Plugin;
}
