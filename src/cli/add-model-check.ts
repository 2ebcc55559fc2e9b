/**
 * `ygg add`'s warning, before it writes, for a task that no eligible host can run: its handler
 * asks a model and none of the hosts it may go to has an endpoint (configured, or found on this
 * machine the last time the loop or `ygg doctor` looked), or it asks for a model (`model:NAME`)
 * that none of them lists. Read from hosts.yaml and `.ygg/models.json`: no network call.
 */
import { classifyType } from '../config/type-rules.js';
import type { HostConfig, YggConfig } from '../config/types.js';
import { type SeenModels, wantsLocalModel } from '../hosts/model/local-models.js';
import { modelRequest, sameModel } from '../hosts/model/model-request.js';
import { builtinModelHandlerFor, builtinModelHandlers } from '../plugins/builtin-model-handlers.js';
import type { Task } from '../store/task.js';

export interface ModelCheckInput {
  task: Pick<Task, 'title' | 'labels' | 'issue_type'>;
  /** `--handler`, or `shell` for a command. */
  handler?: string;
  config: YggConfig;
  seen: SeenModels | undefined;
}

export function modelWarning({ task, handler, config, seen }: ModelCheckInput): string | undefined {
  const type = classifyType(task, config);
  const named = handler ?? config.types[type]?.handler;
  const modelHandler = named
    ? named in builtinModelHandlers
      ? named
      : undefined
    : builtinModelHandlerFor(type);
  if (!modelHandler) return undefined;
  const eligible = eligibleHosts(config, type);
  if (eligible.length === 0) return undefined; // admission says "no host is eligible" itself.
  const endpoint = (h: HostConfig) =>
    h.typeModels[type]?.model ?? h.model?.model ?? seen?.hosts[h.name]?.model;
  const serving = eligible.filter((h) => endpoint(h) !== undefined);
  if (serving.length === 0) {
    const local = eligible.some(wantsLocalModel);
    const where = local
      ? `${config.discoverModels.length ? `no model server was found on ${config.discoverModels.join(' or ')}` : 'discover_models is off'}${seen ? '' : ' (or the loop has not looked yet)'}`
      : 'none names one in hosts.yaml';
    return (
      `no host can run this ${type} task: its handler (${modelHandler}) asks a model, and ${names(eligible)} ` +
      `${eligible.length === 1 ? 'has' : 'have'} no model endpoint (${where}); it will fail when it runs. ` +
      `Set model: on ${eligible.length === 1 ? 'the host' : 'one of them'} in hosts.yaml, or start Ollama on this machine` +
      (named ? '' : ', or give the task a command (ygg add TITLE -- COMMAND)')
    );
  }
  const wanted = modelRequest(task, config.queue.modelLabelPrefix);
  if (!wanted) return undefined;
  const offers = (h: HostConfig): boolean | undefined => {
    const listed = seen?.hosts[h.name]?.listed;
    const configured = [h.model?.model, ...Object.values(h.typeModels).map((m) => m.model), endpoint(h)];
    if (configured.some((m) => m !== undefined && sameModel(m, wanted))) return true;
    return listed ? listed.some((m) => sameModel(m, wanted)) : undefined;
  };
  const answers = serving.map(offers);
  if (answers.some((a) => a !== false)) return undefined;
  return `no host lists the model ${wanted} this task asks for (${names(serving)} ${serving.length === 1 ? 'serves' : 'serve'} ${[...new Set(serving.map(endpoint))].join(', ')}); it will wait or fail until one does`;
}

function eligibleHosts(config: YggConfig, type: string): HostConfig[] {
  const listed = config.types[type]?.hosts;
  if (listed) return config.hosts.filter((h) => listed.includes(h.name));
  return config.hosts.filter((h) => h.roles.includes('inference'));
}

function names(hosts: readonly HostConfig[]): string {
  return hosts.map((h) => h.name).join(', ');
}
