import type { ModelEndpoint } from '../../config/types.js';
import { toError } from '../../errors.js';
import { createModelClient, type ModelClientOptions } from './client.js';
import { sameModel } from './model-request.js';

/**
 * What went wrong, for a fitting hint: the API key's variable is not set, the endpoint refused
 * the key (401, 403), it could not be reached (refused, unresolved, timed out), it answered
 * another HTTP error, or it does not serve the configured model.
 */
export type EndpointProblem = 'missing-key' | 'auth' | 'unreachable' | 'http' | 'model-missing';

export interface EndpointCheck {
  ok: boolean;
  /** Models the endpoint serves (empty when it could not be read). */
  models: string[];
  /** Whether the configured model is among them. */
  servesConfiguredModel: boolean;
  /** Why the check failed: unreachable, refused, or the configured model missing. */
  error: string | undefined;
  /** The kind of failure, when it failed. */
  problem?: EndpointProblem;
  /** The HTTP status the endpoint answered with, when it answered an error. */
  status?: number;
  latencyMs: number;
}

function problemOf(error: Error): { problem: EndpointProblem; status?: number } {
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') {
    return { problem: status === 401 || status === 403 ? 'auth' : 'http', status };
  }
  // Refused, unresolved, reset or timed out: no answer came.
  return { problem: 'unreachable' };
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
  const env = options.env ?? process.env;
  const client = createModelClient(endpoint, { listTimeoutMs: 10_000, ...options });
  try {
    const models = await client.listModels({ signal: options.signal });
    const latencyMs = Math.round(performance.now() - started);
    const servesConfiguredModel = models.some((m) => sameModel(m, endpoint.model));
    if (servesConfiguredModel)
      return { ok: true, models, servesConfiguredModel, error: undefined, latencyMs };
    const error = `${endpoint.model} is not among the ${models.length} models it serves${models.length ? ` (${models.slice(0, 5).join(', ')}${models.length > 5 ? ', …' : ''})` : ''}`;
    return { ok: false, models, servesConfiguredModel, error, problem: 'model-missing', latencyMs };
  } catch (thrown) {
    const latencyMs = Math.round(performance.now() - started);
    const error = toError(thrown);
    const missingKey = endpoint.apiKeyEnv !== undefined && !env[endpoint.apiKeyEnv];
    const kind = missingKey ? { problem: 'missing-key' as const } : problemOf(error);
    return { ok: false, models: [], servesConfiguredModel: false, error: error.message, ...kind, latencyMs };
  }
}
