/** The building blocks of hosts.yaml's schema: durations, sizes, counts and names. */
import { z } from 'zod';
import { durationHint, durationPattern, sizeHint, sizePattern } from './units.js';

/** `250ms`, `30s`, `5m`, `1h`, or a number of seconds. */
export const duration = z.union(
  [z.number().nonnegative(durationHint), z.string().regex(durationPattern, durationHint)],
  { error: durationHint },
);
/** `512M`, `2G`, or a number of bytes. */
export const size = z.union(
  [z.number().int(sizeHint).nonnegative(sizeHint), z.string().regex(sizePattern, sizeHint)],
  { error: sizeHint },
);

export const positiveInt = z
  .number()
  .int('expected a positive integer')
  .positive('expected a positive integer');
export const nonNegativeInt = z
  .number()
  .int('expected a whole number, 0 or more')
  .nonnegative('expected a whole number, 0 or more');
export const name = z.string().min(1, 'expected a non-empty name');
export const names = z.array(name);
/** One string or a list of them. */
export const oneOrMany = z.union([name, names], { error: 'expected a string or a list of strings' });

export const sandboxSchema = z
  .object({
    enabled: z.boolean().describe('Run tools in bubblewrap where the host has it. Default: true.'),
    network: z.boolean().describe('Allow network access inside the sandbox. Default: false.'),
    memory: size.describe('Address-space limit. Default: 2G.'),
    cpu: duration.describe('CPU time limit. Default: 10m.'),
    file_size: size.describe('Largest file a command may write. Default: 1G.'),
    processes: positiveInt.describe('Process count limit. Default: 256.'),
    tmp: size.describe('Size of the private /tmp (and of /dev/shm). Default: 256M.'),
    disk: size.describe('Size of the work directory ygg makes for a command (a tmpfs). Default: 1G.'),
    cpu_share: z
      .number()
      .positive('expected a number of cores above 0, like 1 or 0.5')
      .describe(
        'Cores one attempt may use at most (a cgroup CPU quota, where the host has one). Default: no quota.',
      ),
    env: z
      .record(z.string(), z.string())
      .refine((vars) => Object.keys(vars).every((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)), {
        error: 'expected environment variable names (letters, digits and _, not starting with a digit)',
      })
      .describe(
        'Variables set in the sandbox beside PATH, HOME and LANG; nothing else is inherited. Default: none.',
      ),
    run_as: name.describe('Unprivileged user to run as when ygg logs in as root. Default: none.'),
    cgroup: z
      .boolean()
      .describe(
        'Give each command a cgroup of its own where the host offers one; false leaves the host to the next isolation (a user per slot, else per-user limits). Default: true.',
      ),
    work_root: name.describe('Parent of per-attempt work directories on the host. Default: /tmp/ygg-work.'),
  })
  .partial()
  .strict();
