/**
 * Builds dist/ for benches that run the CLI as a user does (`bin/ygg.js`), and dist-bench/ for the
 * scale bench's dispatcher processes (compiled as the CLI is); `--no-build` skips it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function buildCli(project = 'tsconfig.build.json'): void {
  const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], {
    cwd: repoRoot,
    // tsc reports on stdout: keep it off ours, which --json keeps for one JSON object.
    stdio: ['ignore', 2, 2],
  });
  if (build.status !== 0) throw new Error('the build failed; fix it or run with --no-build');
}

/** The scale bench's dispatcher and the code it runs, compiled into dist-bench/. */
export const benchDispatcherProject = 'bench/scale-parts/tsconfig.dispatcher.json';
