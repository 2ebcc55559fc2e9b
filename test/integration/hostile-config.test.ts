import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { runYgg } from '../helpers/cli.js';
import { startLoop, workspace } from '../helpers/running-loop.js';
import { waitForTasks } from '../helpers/store-file.js';
import { waitUntil } from '../helpers/wait.js';

/** Nested aliases: nine to the sixth copies of "lol" once expanded (a "billion laughs" file). */
const laughs = `hosts:
  surtr: { transport: local, slots: 1 }
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
`;

describe('hosts.yaml with hostile aliases', () => {
  it('reports nested aliases and unknown or self-naming anchors as problems with their line', () => {
    const nested = parseConfig(laughs, 'hosts.yaml');
    expect(nested.config).toBeUndefined();
    expect(nested.errors).toEqual([
      expect.objectContaining({
        file: 'hosts.yaml',
        line: 6,
        message: expect.stringMatching(/alias \*c .*too far/),
      }),
    ]);
    const unknown = parseConfig('hosts:\n  surtr: { transport: local }\n  fenrir: *nowhere\n', 'hosts.yaml');
    expect(unknown.errors).toEqual([
      expect.objectContaining({ line: 3, message: 'alias *nowhere names no anchor &nowhere set before it' }),
    ]);
    const itself = parseConfig('hosts:\n  surtr: { transport: local }\nx: &x [1, *x]\n', 'hosts.yaml');
    expect(itself.errors).toEqual([
      expect.objectContaining({ line: 3, message: expect.stringMatching(/\*x is inside/) }),
    ]);
    // Aliases within reason still work.
    const fine = parseConfig(
      'hosts:\n  surtr: &local { transport: local, slots: 2 }\n  fenrir: *local\n',
      'hosts.yaml',
    );
    expect(fine.errors).toEqual([]);
    expect(fine.config?.hosts.map((h) => h.slots)).toEqual([2, 2]);
  });

  it('ygg config check prints the problem with file and line and exits 1, not an internal error', async () => {
    const ws = await workspace('laughs-check');
    await writeFile(join(ws.dir, 'hosts.yaml'), laughs);
    const result = await runYgg(['config', 'check', '--config', 'hosts.yaml'], { cwd: ws.dir });
    expect(result.stderr).toMatch(/^hosts\.yaml:6: alias \*c makes the aliases expand too far/m);
    expect(result.stderr).not.toMatch(/internal error|ReferenceError/);
    expect(result.code).toBe(1);
  });

  it('a running loop whose hosts.yaml is replaced by one keeps its config and goes on running tasks', async () => {
    const ws = await workspace('laughs-reload');
    const loop = await startLoop(ws.dir);
    const replacement = join(ws.dir, 'hosts.yaml.new');
    await writeFile(replacement, laughs);
    await rename(replacement, join(ws.dir, 'hosts.yaml'));
    await waitUntil(() => /is invalid; keeping the running config/.test(loop.stderr()), {
      what: 'the loop to tell the replaced file is invalid',
    });
    expect(loop.stderr()).toMatch(/hosts\.yaml:6: alias \*c makes the aliases expand too far/);
    const added = await runYgg(['add', 'after the reload', '--', 'true'], { cwd: ws.dir });
    expect(added.code, added.stderr).toBe(0);
    const id = added.stdout.trim();
    await waitForTasks(ws.store, (tasks) => tasks.some((t) => t.id === id && t.status === 'closed'));
    expect(loop.child.exitCode).toBeNull();
    expect(loop.child.signalCode).toBeNull();
  });
});
