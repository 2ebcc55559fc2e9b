/** The JSON schema of hosts.yaml, from the same zod schema that validates it (for editors). */
import { z } from 'zod';
import { hostsFileSchema } from './schema.js';

export function hostsJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(hostsFileSchema, { target: 'draft-2020-12', io: 'input' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    title: 'ygg hosts.yaml',
    description: 'Hosts, types, routing rules and queue settings for the ygg dispatcher.',
  };
}
