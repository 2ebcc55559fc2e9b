import { describe, expect, it } from 'vitest';
import { builtinModelHandlers } from '../../src/plugins/builtin-model-handlers.js';
import { builtinPluginDir, loadPlugins } from '../../src/plugins/loader.js';

describe('the built-in handlers that ask a model', () => {
  it('are listed for ygg add exactly as the plugins declare them (needsModel, and their types)', async () => {
    const plugins = await loadPlugins([builtinPluginDir()]);
    const declared = Object.fromEntries(
      [...plugins.byName.values()].filter((p) => p.needsModel).map((p) => [p.name, [...p.types].sort()]),
    );
    const listed = Object.fromEntries(
      Object.entries(builtinModelHandlers).map(([name, types]) => [name, [...types].sort()]),
    );
    expect(listed).toEqual(declared);
    expect(plugins.byName.get('shell')?.needsModel).toBeFalsy();
  });
});
