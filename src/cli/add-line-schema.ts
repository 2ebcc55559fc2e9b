/** The keys a JSON line of `ygg add --from` may set, checked with zod (imported only for JSON Lines). */
import { z } from 'zod';
import { parseDuration } from './add-task.js';

/** A duration as `ygg add` takes it: milliseconds, or a string with a unit (`250ms`, `30s`, `5m`). */
const duration = z.union([
  z.number().int().nonnegative(),
  z.string().transform((text, ctx) => {
    try {
      return parseDuration(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'use milliseconds or a unit: 250ms, 30s, 5m, 1h' });
      return z.NEVER;
    }
  }),
]);
const name = z.string().trim().min(1, 'must not be empty');

export const jsonLineSchema = z.strictObject({
  title: z.string(),
  type: name.optional(),
  priority: z.number().int().min(0).max(4).optional(),
  labels: z.array(name).optional(),
  description: z.string().optional(),
  blocked_by: z.array(name).optional(),
  handler: name.optional(),
  argv: z.array(z.string()).min(1, 'give the command as a non-empty array of words').optional(),
  simulate_ms: duration.optional(),
  timeout: duration.optional(),
  hard_timeout: duration.optional(),
  attempts: z.number().int().min(1).optional(),
  as: name.optional(),
});

export type JsonLineSchema = typeof jsonLineSchema;
