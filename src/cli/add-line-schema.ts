/** The keys a JSON line of `ygg add --from` may set, checked with zod (imported only for JSON Lines). */
import { z } from 'zod';
import { durationTextHint, parseDurationText } from '../config/units.js';

/**
 * A duration as `ygg add` takes it: a unit (`250ms`, `30s`, `5m`), or a bare number, which is
 * seconds, or milliseconds under a key ending `_ms` (one rule with hosts.yaml and the flags).
 */
const duration = (bare: 'seconds' | 'milliseconds') =>
  z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
    try {
      return parseDurationText(String(value), bare);
    } catch {
      ctx.addIssue({ code: 'custom', message: durationTextHint(bare) });
      return z.NEVER;
    }
  });
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
  simulate_ms: duration('milliseconds').optional(),
  timeout: duration('seconds').optional(),
  hard_timeout: duration('seconds').optional(),
  attempts: z.number().int().min(1).optional(),
  as: name.optional(),
});

export type JsonLineSchema = typeof jsonLineSchema;
