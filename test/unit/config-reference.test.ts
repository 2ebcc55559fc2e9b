import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  hostSchema,
  hostsFileSchema,
  queueSchema,
  retentionSchema,
  typeSchema,
} from '../../src/config/schema.js';
import { repoRoot } from '../helpers/cli.js';

describe('the key reference in the shipped hosts.yaml', () => {
  it('names only real keys in valid forms once uncommented', async () => {
    const lines = (await readFile(join(repoRoot, 'hosts.yaml'), 'utf8')).split('\n');
    const start = lines.findIndex((l) => l.includes('Every key, with its default'));
    expect(start).toBeGreaterThan(0);
    const reference = lines
      .slice(start + 2)
      .map((l) => l.replace(/^# ?/, ''))
      .join('\n');
    const parsed = hostsFileSchema.safeParse(parse(reference));
    expect(parsed.error?.issues ?? []).toEqual([]);
    // It documents every top-level section.
    expect(Object.keys(parsed.data ?? {}).sort()).toEqual(Object.keys(hostsFileSchema.shape).sort());
    // And every key of a host, a type and the queue.
    const documented = (entry: object | undefined) => Object.keys(entry ?? {}).sort();
    expect(documented(parsed.data?.hosts?.NAME)).toEqual(Object.keys(hostSchema.shape).sort());
    expect(documented(parsed.data?.types?.NAME)).toEqual(Object.keys(typeSchema.shape).sort());
    expect(documented(parsed.data?.queue)).toEqual(Object.keys(queueSchema.shape).sort());
    expect(documented(parsed.data?.retention)).toEqual(Object.keys(retentionSchema.shape).sort());
    for (const kind of ['artifacts', 'trajectories', 'logs'] as const)
      expect(documented(parsed.data?.retention?.[kind])).toEqual(['max_age', 'max_bytes']);
  });
});
