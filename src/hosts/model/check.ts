import type { ModelEndpoint } from '../../config/types.js';
import { toError } from '../../errors.js';
import { createModelClient, type ModelClientOptions } from './client.js';
import { sameModel } from './model-request.js';

export interface EndpointCheck {
  ok: boolean;
  /** Models the endpoint serves (empty when it could not be read). */
  models: string[];
  /** Whether the configured model is among them. */
  servesConfiguredModel: boolean;
  /** Why the check failed: unreachable, refused, or the configured model missing. */
  error: string | undefined;
  latencyMs: number;
}

/**
 * For `ygg doctor`: reads the endpoint's model list. ok when it answers and serves the configured
 * model. Never rejects; the API key is never part of the answer.
 */
export async function checkEndpoint(
  endpoint: ModelEndpoint,
  options: ModelClientOptions & { signal?: AbortSignal } = {},
): Promise<EndpointCheck> {
  const started = performance.now();
  const client = createModelClient(endpoint, { listTimeoutMs: 10_000, ...options });
  try {
    const models = await client.listModels({ signal: options.signal });
    const latencyMs = Math.round(performance.now() - started);
    const servesConfiguredModel = models.some((m) => sameModel(m, endpoint.model));
    const error = servesConfiguredModel
      ? undefined
      : `${endpoint.model} is not among the ${models.length} models it serves${models.length ? ` (${models.slice(0, 5).join(', ')}${models.length > 5 ? ', …' : ''})` : ''}`;
    return { ok: servesConfiguredModel, models, servesConfiguredModel, error, latencyMs };
  } catch (thrown) {
    const latencyMs = Math.round(performance.now() - started);
    return { ok: false, models: [], servesConfiguredModel: false, error: toError(thrown).message, latencyMs };
  }
}
