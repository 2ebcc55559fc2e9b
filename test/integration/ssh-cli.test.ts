import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostDiagnosis } from '../../src/cli/doctor.js';
import type { HostReport } from '../../src/cli/hosts.js';
import { runYgg } from '../helpers/cli.js';
import { startSshd } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';

function hostsYaml(sshd: { port: number; clientKeyFile: string; dir: string }, knownHosts: string): string {
  return `hosts:
  surtr:
    transport: ssh
    address: 127.0.0.1
    port: ${sshd.port}
    user: yggtest
    key: ${sshd.clientKeyFile}
    known_hosts: ${knownHosts}
    slots: 3
    sandbox:
      work_root: ${sshd.dir}/work
      run_as: yggsbx
  ghost:
    transport: ssh
    address: 127.0.0.1
    port: 1
    user: yggtest
    key: ${sshd.clientKeyFile}
    known_hosts: ${knownHosts}
types:
  general:
    hosts: [surtr]
`;
}

describe('ygg hosts, hosts trust and doctor against a real sshd', () => {
  it('refuses an unknown host until trusted, then shows it up with its protections', async () => {
    const dir = await testDir('hosts-cli');
    const sshd = await startSshd(dir);
    try {
      const knownHosts = join(dir, 'cli_known_hosts');
      const config = join(dir, 'hosts.yaml');
      await writeFile(config, hostsYaml(sshd, knownHosts));

      const before = await runYgg(['hosts', '--json', '--config', config], { cwd: dir });
      expect(before.code).toBe(1);
      const [surtr, ghost] = JSON.parse(before.stdout) as HostReport[];
      expect(surtr).toMatchObject({ name: 'surtr', state: 'down' });
      expect(surtr!.error).toMatch(/host key of surtr .* is not known/);
      expect(surtr!.hint).toMatch(/ygg hosts trust surtr/);
      expect(ghost!.error).toMatch(/connection refused at 127\.0\.0\.1:1/);

      const trust = await runYgg(['hosts', 'trust', 'surtr', '--config', config], { cwd: dir });
      expect(trust.stderr).toBe('');
      expect(trust.stdout).toContain(
        `recorded surtr: ssh-ed25519 ${sshd.hostFingerprint()} in ${knownHosts}`,
      );
      expect(await readFile(knownHosts, 'utf8')).toContain(`[127.0.0.1]:${sshd.port} ssh-ed25519 `);
      const again = await runYgg(['hosts', 'trust', 'surtr', '--config', config], { cwd: dir });
      expect(again.stdout).toMatch(/already in/);
      const json = await runYgg(['hosts', 'trust', 'surtr', '--config', config, '--json'], { cwd: dir });
      expect(JSON.parse(json.stdout)).toEqual({
        host: 'surtr',
        fingerprint: sshd.hostFingerprint(),
        keyType: 'ssh-ed25519',
        knownHosts,
        outcome: 'already-known',
      });

      const after = await runYgg(['hosts', '--json', '--config', config], { cwd: dir });
      const [up] = JSON.parse(after.stdout) as HostReport[];
      expect(up).toMatchObject({
        name: 'surtr',
        state: 'up',
        gpus: null,
        slots: { configured: 3, effective: 3 },
      });
      expect(up!.latencyMs).toBeGreaterThan(0);
      expect(up!.protections).toEqual(expect.arrayContaining(['no network', 'home directories hidden']));
      // Logged in without root, no cgroup per command: `ygg hosts` says the process limit is per user.
      expect(up!.protections).toEqual(
        expect.arrayContaining([expect.stringMatching(/^NOT in force: a cgroup of its own .*together/)]),
      );

      const text = await runYgg(['hosts', '--config', config], { cwd: dir });
      expect(text.stdout).toMatch(/^surtr {2}up [\d.]+ ms {2}yggtest@127\.0\.0\.1:\d+ {2}slots 3$/m);
      expect(text.stdout).toContain('gpus: none (no nvidia-smi)');
      expect(text.stdout).toMatch(/ghost {2}down/);

      const doctor = await runYgg(['doctor', 'surtr', '--json', '--config', config], { cwd: dir });
      expect(doctor.code).toBe(0);
      const [diagnosis] = JSON.parse(doctor.stdout) as HostDiagnosis[];
      expect(diagnosis!.steps.map((s) => [s.step, s.status])).toEqual([
        ['name', 'ok'],
        ['tcp', 'ok'],
        ['host key', 'ok'],
        ['login', 'ok'],
        ['protections', 'ok'],
        ['not in force', 'warn'],
        ['sandboxed run', 'ok'],
        ['nvidia-smi', 'skip'],
      ]);
      // Every protection in force, as `ygg hosts` lists them, and the one missing for a login
      // without root: a cgroup per command.
      expect(diagnosis!.steps.find((s) => s.step === 'protections')?.detail).toMatch(
        /^wall-clock limit .*; bubblewrap: read-only system; home directories hidden; .*; no network; environment: PATH, HOME, LANG and the variables named for it only$/,
      );
      expect(diagnosis!.steps.find((s) => s.step === 'not in force')).toMatchObject({
        detail: expect.stringMatching(/^a cgroup of its own \(no writable cgroup for uid \d+\)/),
        fix: expect.stringMatching(/^Let ygg log in to surtr as root/),
      });
      // A pinned fingerprint that does not match: the hint names the key as hosts.yaml spells it.
      const pinned = join(dir, 'pinned.yaml');
      await writeFile(
        pinned,
        hostsYaml(sshd, knownHosts).replace(
          '    slots: 3\n',
          `    slots: 3\n    fingerprint: SHA256:${'A'.repeat(43)}\n`,
        ),
      );
      const mismatch = await runYgg(['hosts', 'trust', 'surtr', '--config', pinned], { cwd: dir });
      expect(mismatch.code).not.toBe(0);
      expect(mismatch.stderr).toContain('update hosts.surtr.fingerprint in hosts.yaml');

      const ghostDoctor = await runYgg(['doctor', 'ghost', '--config', config], { cwd: dir });
      expect(ghostDoctor.code).toBe(1);
      expect(ghostDoctor.stdout).toMatch(/FAIL tcp: 127\.0\.0\.1:1: .*ECONNREFUSED/);
      expect(ghostDoctor.stdout).toMatch(/fix: Is sshd running on ghost/);
    } finally {
      await sshd.stop();
    }
  });
});
