/**
 * `ygg doctor`'s check of every type: which hosts can run it and why the others cannot. A type
 * whose handler asks a model (`needsModel`) and whose hosts have no model endpoint is a FAIL when
 * hosts.yaml lists the type (its tasks would all be dead-lettered), a WARN when the type is only
 * a built-in name nobody declared.
 */
import type { HostConfig, TypeConfig, YggConfig } from '../config/types.js';
import type { Plugin } from '../plugins/api.js';
import type { PluginSet } from '../plugins/loader.js';
import type { DoctorStep, HostDiagnosis } from './doctor-step.js';

export function typesDiagnosis(
  config: YggConfig,
  plugins: Pick<PluginSet, 'byName' | 'byType'>,
): HostDiagnosis {
  const steps = Object.values(config.types)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((type) => typeStep(config, type, plugins));
  return { host: 'types', steps, ok: steps.every((s) => s.status !== 'fail') };
}

function typeStep(
  config: YggConfig,
  type: TypeConfig,
  plugins: Pick<PluginSet, 'byName' | 'byType'>,
): DoctorStep {
  const step = type.name;
  const plugin: Plugin | undefined = type.handler
    ? plugins.byName.get(type.handler)
    : plugins.byType.get(type.name);
  if (!plugin) {
    const said = type.handler ? `no plugin named ${type.handler}` : 'no handler plugin serves it';
    return {
      step,
      status: 'warn',
      detail: `${said}: its tasks wait (or name a handler, like ygg add -- COMMAND does)`,
      fix: `Set types.${type.name}.handler in hosts.yaml, or add a plugin for it.`,
    };
  }
  const eligible = config.hosts.filter((h) => type.hosts.includes(h.name));
  if (eligible.length === 0)
    return {
      step,
      status: 'warn',
      detail: `handler ${plugin.name}; no host is eligible (types.${type.name}.hosts)`,
    };
  if (!plugin.needsModel)
    return {
      step,
      status: 'ok',
      detail: `handler ${plugin.name} on ${eligible.map((h) => h.name).join(', ')}`,
    };
  const endpoint = (h: HostConfig) => h.typeModels[type.name] ?? h.model;
  const able = eligible.filter((h) => endpoint(h));
  const unable = eligible.filter((h) => !endpoint(h));
  const cannot = unable.length ? `; not on ${unable.map((h) => h.name).join(', ')}: no model endpoint` : '';
  if (able.length > 0) {
    const on = able.map((h) => `${h.name} (${endpoint(h)!.model})`).join(', ');
    return { step, status: 'ok', detail: `handler ${plugin.name} asks a model: runs on ${on}${cannot}` };
  }
  const look = config.discoverModels.length
    ? `no model server answered on ${config.discoverModels.join(' or ')}`
    : 'discover_models is off';
  return {
    step,
    status: type.declared ? 'fail' : 'warn',
    detail: `handler ${plugin.name} asks a model, and ${unable.map((h) => h.name).join(', ')} ${unable.length === 1 ? 'has' : 'have'} no model endpoint (${look}): its tasks would fail`,
    fix: `Set hosts.${unable[0]!.name}.model in hosts.yaml (api, url, model), or start Ollama (127.0.0.1:11434) or an OpenAI-compatible server (127.0.0.1:8080) on this machine for its local hosts; tasks with a command (ygg add TITLE -- COMMAND) need none.`,
  };
}
