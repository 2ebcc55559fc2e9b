import { NonRetryableError } from '../src/errors.js';
import { commandNotFound } from '../src/hosts/not-found.js';
import type { HandlerContext, Plugin } from '../src/plugins/api.js';
import type { Task } from '../src/store/task.js';
import { yggOf } from '../src/store/task.js';
import { failureText, protectionsLine } from './lib/failure-text.js';

/** Output kept in the result; the whole of it stays in the attempt's log. */
const keptOutputBytes = 64 * 1024;

/**
 * Runs the task's argv (`metadata.ygg.argv`, set by `ygg add ... -- ARGV`) on its host, in the
 * sandbox: the task's `metadata.ygg.limits`, then its type's `sandbox`, then the host's (merged
 * by `ctx.exec`). The argv is passed as an array: nothing from the task reaches a shell string.
 */
export const plugin: Plugin = {
  name: 'shell',
  types: ['shell'],
  async run(task: Task, ctx: HandlerContext) {
    const argv = yggOf(task).argv;
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
      throw new NonRetryableError(
        `task ${task.id} has no command: add one with "ygg add TITLE -- COMMAND ARGS..."`,
      );
    }
    const result = await ctx.exec(argv, {
      signal: ctx.signal,
      maxOutputBytes: keptOutputBytes,
      sandbox: true,
      onOutput: (chunk) => ctx.progress(chunk.trimEnd()),
    });
    const output = [result.stdout, result.stderr && `--- stderr ---\n${result.stderr}`]
      .filter(Boolean)
      .join('\n');
    const truncated = result.stdoutTruncated || result.stderrTruncated ? ' (output truncated)' : '';
    const failure = (head: string) =>
      failureText({
        head,
        stderr: result.stderr,
        stdout: result.stdout,
        protections: result.protections,
        output,
      });
    if (result.limit) {
      const words = result.limitMessage ? ` (${result.limitMessage})` : '';
      throw new NonRetryableError(
        failure(
          `${argv[0]} was stopped by the ${describeLimit(result.limit)} after ${Math.round(result.durationMs)} ms${words}`,
        ),
      );
    }
    if (commandNotFound(argv[0]!, result)) {
      // Retrying cannot help: the same host has the same programs next time.
      throw new NonRetryableError(
        [
          `${argv[0]}: command not found on host ${ctx.host.name}`,
          protectionsLine(result.protections),
          output,
        ]
          .filter(Boolean)
          .join('\n'),
      );
    }
    if (result.code !== 0) {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
      throw new Error(failure(`${argv[0]} ${how}${truncated}`));
    }
    return {
      summary: [
        `${argv[0]} exited 0 in ${Math.round(result.durationMs)} ms${truncated}`,
        protectionsLine(result.protections),
      ]
        .filter(Boolean)
        .join('\n'),
      output,
      metadata: { exit_code: 0, protections: result.protections ?? [] },
    };
  },
};

function describeLimit(limit: string): string {
  switch (limit) {
    case 'time':
      return 'time limit';
    case 'memory':
      return 'memory limit';
    case 'cpu':
      return 'CPU-time limit';
    case 'file-size':
      return 'file-size limit';
    case 'disk':
      return 'disk limit';
    case 'processes':
      return 'process-count limit';
    default:
      return 'cancellation';
  }
}
