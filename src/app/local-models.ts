/**
 * The model server on this machine, looked for once when the loop or `ygg doctor` starts (when
 * hosts.yaml's `discover_models` allows it and a local host names no endpoint), said when found,
 * and written with the config's endpoints to `.ygg/models.json` for `ygg add`.
 * `YGG_DISCOVER_MODELS=off` turns the search off as `discover_models: false` does.
 */
import type { YggConfig } from '../config/types.js';
import { discoverModelServer, type FoundModelServer } from '../hosts/model/discover.js';
import {
  describeFound,
  seenModelsOf,
  wantsLocalModel,
  withLocalModel,
  writeSeenModels,
} from '../hosts/model/local-models.js';

export function discoveryOn(config: YggConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  return config.discoverModels.length > 0 && env.YGG_DISCOVER_MODELS !== 'off';
}

export async function findLocalModel(
  config: YggConfig,
  runtimeDir: string | undefined,
  say: (line: string) => void,
): Promise<FoundModelServer | undefined> {
  const look = discoveryOn(config) && config.hosts.some(wantsLocalModel);
  const found = look ? await discoverModelServer(config.discoverModels) : undefined;
  if (found) {
    const line = describeFound(config, found);
    if (line) say(line);
  }
  if (!runtimeDir) return found;
  try {
    writeSeenModels(runtimeDir, seenModelsOf(withLocalModel(config, found), found));
  } catch {
    // Only a hint for `ygg add`; a read-only runtime folder costs its warnings, nothing else.
  }
  return found;
}
