/** Keeps the first `limit` bytes of a stream and counts the rest, so output stays bounded. */
export class BoundedOutput {
  #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  constructor(readonly limit: number) {}

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    const room = this.limit - this.#kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.#chunks.push(part);
    this.#kept += part.length;
  }

  get truncated(): boolean {
    return this.#total > this.#kept;
  }

  get totalBytes(): number {
    return this.#total;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

export const defaultMaxOutputBytes = 1024 * 1024;
