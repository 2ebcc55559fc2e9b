/** hosts.yaml for a command: found by flag, environment or beside the store, loaded and checked. */
import { loadDiscoveredConfig } from '../config/load.js';
import type { YggConfig } from '../config/types.js';

/** Where the store and hosts.yaml are (flags; the environment and discovery otherwise). */
export interface CommonOptions {
  store?: string;
  config?: string;
  cwd?: string;
}

export async function openConfig(
  options: CommonOptions,
): Promise<{ config: YggConfig; path: string; warnings: string[] }> {
  const found = await loadDiscoveredConfig({
    ...(options.config ? { configPath: options.config } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  return { config: found.config, path: found.path, warnings: found.warnings.map((w) => w.message) };
}
