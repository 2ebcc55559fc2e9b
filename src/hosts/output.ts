import { StringDecoder } from 'node:string_decoder';

/** Default bytes kept per stream. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * One output stream: passes text on as it arrives and keeps the first `limit` bytes; the rest
 * is counted and flagged as truncated, never held in memory.
 */
export class BoundedOutput {
  readonly #chunks: Buffer[] = [];
  readonly #decoder = new StringDecoder('utf8');
  #kept = 0;
  #total = 0;

  constructor(
    readonly limit: number,
    readonly onText?: (text: string) => void,
  ) {}

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    const room = this.limit - this.#kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.#chunks.push(part);
      this.#kept += part.length;
    }
    if (this.onText) {
      const text = this.#decoder.write(chunk);
      if (text) this.onText(text);
    }
  }

  end(): void {
    if (this.onText) {
      const rest = this.#decoder.end();
      if (rest) this.onText(rest);
    }
  }

  get truncated(): boolean {
    return this.#total > this.#kept;
  }

  get totalBytes(): number {
    return this.#total;
  }

  text(): string {
    // A multi-byte character cut by the bound is dropped, not shown as a replacement mark.
    return new StringDecoder('utf8').write(Buffer.concat(this.#chunks));
  }
}
