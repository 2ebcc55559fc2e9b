/**
 * The web view: one self-contained HTML file (src/observe/web/index.html), read once. It is not
 * compiled, so from dist/ it is found back in the source tree that ships beside it.
 */
import { readFileSync } from 'node:fs';

const candidates = ['../web/index.html', '../../../../src/observe/web/index.html'];

let cached: string | undefined;

export function webPage(): string {
  if (cached !== undefined) return cached;
  for (const rel of candidates) {
    try {
      cached = readFileSync(new URL(rel, import.meta.url), 'utf8');
      return cached;
    } catch {
      // try the next place
    }
  }
  cached = '<!doctype html><title>ygg</title><p>The web view file is missing from this install.</p>';
  return cached;
}
