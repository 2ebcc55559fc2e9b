/**
 * A count and its noun, agreeing: `1 attempt`, `2 attempts`, `0 tasks`. One helper, so no
 * message says "1 attempts". `many` is for nouns that do not just take an s (`1 entry, 2 entries`).
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
