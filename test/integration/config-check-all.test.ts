import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runYgg } from '../helpers/cli.js';
import { testDir } from '../helpers/tmp.js';

async function check(name: string, yaml: string, json = false) {
  const cwd = await testDir(name);
  await writeFile(join(cwd, 'hosts.yaml'), yaml);
  return runYgg(['config', 'check', '--config', 'hosts.yaml', ...(json ? ['--json'] : [])], { cwd });
}

interface CheckJson {
  ok: boolean;
  problems: Array<{ severity: string; file: string; line: number | null; key: string; message: string }>;
}

describe('ygg config check reports every problem in one run', () => {
  it('gives five schema errors and an unknown host together, each at the line of its key', async () => {
    const yaml = [
      'hosts:', //                              1
      '  surtr:', //                            2
      '    transport: local', //                3
      '    slots: many', //                     4
      '  fenrir:', //                           5
      '    transport: lokal', //                6
      '    slotz: 2', //                        7
      'types:', //                              8
      '  general:', //                          9
      '    attempts: zero', //                 10
      '  reasoning:', //                       11
      '    hosts: [surtr, nowhere]', //        12
      'queue:', //                             13
      '  lease: forever', //                   14
      '',
    ].join('\n');
    const text = await check('check-all', yaml);
    expect(text.code).toBe(1);
    const lines = text.stderr.trim().split('\n');
    expect(lines).toEqual([
      'hosts.yaml:4: hosts.surtr.slots: expected a number, got "many"',
      'hosts.yaml:6: hosts.fenrir.transport: expected one of local, ssh, got "lokal"',
      expect.stringMatching(
        /^hosts\.yaml:7: hosts\.fenrir\.slotz: unknown key "slotz" \(did you mean "slots"\?\)$/,
      ),
      'hosts.yaml:10: types.general.attempts: expected a number, got "zero"',
      'hosts.yaml:12: types.reasoning.hosts[1]: unknown host "nowhere"',
      expect.stringMatching(/^hosts\.yaml:14: queue\.lease: expected a duration/),
      'hosts.yaml: 6 errors',
    ]);

    const json = await check('check-all-json', yaml, true);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as CheckJson;
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.line, p.key])).toEqual([
      [4, 'hosts.surtr.slots'],
      [6, 'hosts.fenrir.transport'],
      [7, 'hosts.fenrir.slotz'],
      [10, 'types.general.attempts'],
      [12, 'types.reasoning.hosts[1]'],
      [14, 'queue.lease'],
    ]);
  });

  it('points a key indented one space too far at its own line, not the line before', async () => {
    const yaml = ['hosts:', '  surtr:', '    transport: local', '     slots: 2', ''].join('\n');
    const result = await check('check-indent-in', yaml);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'hosts.yaml:4: hosts.surtr.slots: "slots" is indented 5 spaces where the key on line 3 has 4 spaces: is it indented under the wrong parent?',
      'hosts.yaml: 1 error',
    ]);
  });

  it('reports mis-indented keys with the schema errors and the unknown host around them, each at its own line', async () => {
    const yaml = [
      'hosts:', //                              1
      '  surtr:', //                            2
      '    transport: local', //                3
      '      slots: 2', //                      4  one level too far in
      '  fenrir:', //                           5
      '    transport: lokal', //                6
      '   gpus: [0]', //                        7  between two levels
      'types:', //                              8
      '  reasoning:', //                        9
      '    hosts: [surtr, nowhere]', //        10
      '',
    ].join('\n');
    const text = await check('check-indent-all', yaml);
    expect(text.code).toBe(1);
    expect(text.stderr.trim().split('\n')).toEqual([
      'hosts.yaml:4: hosts.surtr.slots: "slots" is indented 6 spaces where the key on line 3 has 4 spaces: is it indented under the wrong parent?',
      'hosts.yaml:6: hosts.fenrir.transport: expected one of local, ssh, got "lokal"',
      'hosts.yaml:7: hosts.fenrir.gpus: "gpus" is indented 3 spaces where the key on line 6 has 4 spaces: is it indented under the wrong parent?',
      'hosts.yaml:10: types.reasoning.hosts[1]: unknown host "nowhere"',
      'hosts.yaml: 4 errors',
    ]);
    const report = JSON.parse((await check('check-indent-all-json', yaml, true)).stdout) as CheckJson;
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.file, p.line, p.key])).toEqual([
      ['hosts.yaml', 4, 'hosts.surtr.slots'],
      ['hosts.yaml', 6, 'hosts.fenrir.transport'],
      ['hosts.yaml', 7, 'hosts.fenrir.gpus'],
      ['hosts.yaml', 10, 'types.reasoning.hosts[1]'],
    ]);
  });

  it('says a key at the top of the file belongs under a host or a section, and still checks the rest', async () => {
    const yaml = [
      'hosts:',
      '  surtr:',
      '    transport: local',
      'slots: 2',
      'queue: fast',
      'order: fifo',
      'types:',
      '  reasoning:',
      '    hosts: [nowhere]',
      '',
    ].join('\n');
    const result = await check('check-top-level', yaml);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'hosts.yaml:4: slots: unknown key "slots" ("slots" is a setting of each host: is it indented under the wrong parent?)',
      'hosts.yaml:5: queue: expected a map, got "fast"',
      'hosts.yaml:6: order: unknown key "order" ("order" is a setting of queue: is it indented under the wrong parent?)',
      'hosts.yaml:9: types.reasoning.hosts[0]: unknown host "nowhere"',
      'hosts.yaml: 4 errors',
    ]);
  });

  it('points at the mis-indented key past a blank line and a comment, and moves what is under it along', async () => {
    const yaml = [
      'hosts:',
      '  surtr:',
      '    transport: local',
      '',
      '  # limits for the builds',
      '      sandbox:',
      '        cpu: 2',
      '        memory: lots',
      '    slots: 2',
      '',
    ].join('\n');
    const result = await check('check-indent-comment', yaml);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'hosts.yaml:6: hosts.surtr.sandbox: "sandbox" is indented 6 spaces where the key on line 3 has 4 spaces: is it indented under the wrong parent?',
      expect.stringMatching(/^hosts\.yaml:8: hosts\.surtr\.sandbox\.memory: /),
      'hosts.yaml: 2 errors',
    ]);
  });

  it('says a setting written one level too far out is mis-indented, and still checks the rest', async () => {
    const yaml = [
      'hosts:',
      '  surtr:',
      '    transport: local',
      '  slots: 2',
      'types:',
      '  reasoning:',
      '    hosts: [nowhere]',
      '',
    ].join('\n');
    const result = await check('check-indent-out', yaml, true);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as CheckJson;
    expect(report.problems.map((p) => [p.line, p.key])).toEqual([
      [4, 'hosts.slots'],
      [7, 'types.reasoning.hosts[0]'],
    ]);
    expect(report.problems[0]?.message).toContain(
      '"slots" is a setting of each host: is it indented under the wrong parent?',
    );
  });

  it('prints ok and no problems as JSON for a good file', async () => {
    const result = await check('check-ok-json', 'hosts:\n  surtr: { transport: local, slots: 1 }\n', true);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, problems: [] });
  });
});
