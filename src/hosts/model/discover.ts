/**
 * Finding a model server on this machine for the local hosts that name none: each address is
 * asked what it serves through its API (Ollama's `GET /api/tags`, an OpenAI-compatible server's
 * `GET /v1/models`); only an answer of that API's shape counts, so a web server that happens to
 * listen on the port is not taken for a model server. Bounded: a few hundred milliseconds per
 * address, all at once; nothing found is an answer, not an error.
 */

export interface FoundModelServer {
  api: 'ollama' | 'openai';
  url: string;
  /** The models it lists, in its order. */
  models: string[];
}

const probeTimeoutMs = 500;

/** The first address (in the order given) whose server proves to be a model server. */
export async function discoverModelServer(
  addresses: readonly string[],
  timeoutMs = probeTimeoutMs,
): Promise<FoundModelServer | undefined> {
  const answers = await Promise.all(addresses.map((address) => probe(address, timeoutMs)));
  return answers.find((found) => found !== undefined);
}

async function probe(address: string, timeoutMs: number): Promise<FoundModelServer | undefined> {
  const url = `http://${address}`;
  const ollama = await getJson(`${url}/api/tags`, timeoutMs);
  const tags = modelNames(ollama, 'models', 'name');
  if (tags) return { api: 'ollama', url, models: tags };
  const openai = await getJson(`${url}/v1/models`, timeoutMs);
  const listed = modelNames(openai, 'data', 'id');
  if (listed) return { api: 'openai', url, models: listed };
  return undefined;
}

/** `{[list]: [{[key]: name}, ...]}` as names; undefined for any other shape. */
function modelNames(body: unknown, list: string, key: string): string[] | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const items = (body as Record<string, unknown>)[list];
  if (!Array.isArray(items)) return undefined;
  const names = items.map((item) =>
    item && typeof item === 'object' ? (item as Record<string, unknown>)[key] : undefined,
  );
  return names.every((n): n is string => typeof n === 'string') ? names : undefined;
}

async function getJson(url: string, timeoutMs: number): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    if (!response.ok) return undefined;
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('json')) return undefined;
    return await response.json();
  } catch {
    return undefined;
  }
}
