/**
 * The model client's own cost: a streamed answer of N tokens from a local test server, read by
 * the client (parse, timeouts, token callbacks) against a baseline measured in the same run: a
 * bare fetch reading the same stream to its end without parsing. Both wire formats.
 */
import { createModelClient } from '../src/hosts/model/client.js';
import { endpointOf, startModelServer, type WireApi } from '../test/helpers/model-server.js';
import { table } from './lib/table.js';

const messages = [{ role: 'user' as const, content: 'stream please' }];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const tokens = Number(args.find((a) => a.startsWith('--tokens='))?.slice(9) ?? 5000);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 7);
  await using server = await startModelServer({ models: ['bench:latest'] });
  const reply = { tokens: Array.from({ length: tokens }, (_, i) => `tok${i} `) };
  server.setDefault(reply);
  const rows: Record<string, number | string>[] = [];
  for (const api of ['ollama', 'openai'] as WireApi[]) {
    const client = createModelClient(endpointOf(server, api));
    const path = api === 'ollama' ? '/api/chat' : '/v1/chat/completions';
    const body = JSON.stringify({ model: 'bench:latest', messages, stream: true });
    const clientMs: number[] = [];
    const rawMs: number[] = [];
    const firstMs: number[] = [];
    const rawFirstMs: number[] = [];
    for (let round = 0; round < rounds + 1; round++) {
      let started = performance.now();
      let first = 0;
      let count = 0;
      await client.chat(messages, {
        onToken: () => {
          if (count++ === 0) first = performance.now() - started;
        },
      });
      const clientTime = performance.now() - started;
      started = performance.now();
      const response = await fetch(`${server.url}${path}`, { method: 'POST', body });
      let rawFirst = 0;
      for await (const _ of response.body ?? []) if (rawFirst === 0) rawFirst = performance.now() - started;
      const rawTime = performance.now() - started;
      if (round === 0) continue; // warm-up
      if (count !== tokens) throw new Error(`expected ${tokens} tokens, got ${count}`);
      clientMs.push(clientTime);
      rawMs.push(rawTime);
      firstMs.push(first);
      rawFirstMs.push(rawFirst);
    }
    const c = median(clientMs);
    const r = median(rawMs);
    rows.push({
      api,
      tokens,
      client_ms: Number(c.toFixed(1)),
      baseline_ms: Number(r.toFixed(1)),
      ratio: Number((c / r).toFixed(2)),
      client_tokens_per_s: Math.round(tokens / (c / 1000)),
      first_token_ms: Number(median(firstMs).toFixed(2)),
      baseline_first_chunk_ms: Number(median(rawFirstMs).toFixed(2)),
    });
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ rounds, results: rows })}\n`);
    return;
  }
  const headers = Object.keys(rows[0] ?? {});
  process.stdout.write(
    table(
      headers,
      rows.map((row) => headers.map((h) => row[h] ?? '')),
    ),
  );
}
