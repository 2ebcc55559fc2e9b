/** The two streaming formats, read record by record from a response body. */

/** Lines of a body, decoded as UTF-8 across chunk boundaries; a last line without `\n` counts. */
export async function* textLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      yield pending.slice(0, newline).replace(/\r$/, '');
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  }
  pending += decoder.decode();
  if (pending.length > 0) yield pending.replace(/\r$/, '');
}

/** Ollama's stream: one JSON object per line. */
export async function* ndjsonRecords(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  for await (const line of textLines(body)) {
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line) as unknown;
    } catch {
      throw new SyntaxError(`unreadable stream line: ${line.slice(0, 200)}`);
    }
  }
}

/**
 * The data of each server-sent event (the OpenAI-compatible stream): `data:` lines joined by
 * `\n`, one value per blank-line-terminated event; comments and other fields skipped.
 */
export async function* sseData(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  let data: string[] = [];
  for await (const line of textLines(body)) {
    if (line === '') {
      if (data.length > 0) yield data.join('\n');
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') continue;
    const value = colon < 0 ? '' : line.slice(colon + 1);
    data.push(value.startsWith(' ') ? value.slice(1) : value);
  }
  if (data.length > 0) yield data.join('\n');
}
