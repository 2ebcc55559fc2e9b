import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const yggBin = `${repoRoot}/bin/ygg.js`;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `ygg` CLI as a child process (dist/ is built by the global setup). */
export function runYgg(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [yggBin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 60_000,
    });
    const output = collectOutput(child);
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: output.stdout(), stderr: output.stderr() }),
    );
    child.stdin.end(options.input ?? '');
  });
}

/** What a child process prints, gathered as it comes (read it at any time). */
export function collectOutput(child: { stdout: Readable; stderr: Readable }): {
  stdout(): string;
  stderr(): string;
} {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}
