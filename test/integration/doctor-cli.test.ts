import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DoctorStep, HostDiagnosis } from '../../src/cli/doctor.js';
import type { HostReport } from '../../src/cli/hosts.js';
import { runYgg } from '../helpers/cli.js';
import { startModelServer } from '../helpers/model-server.js';
import { pathWithoutNvidiaSmi } from '../helpers/no-nvidia-smi.js';
import { ensureUser, SANDBOX_USER } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';

const stepsOf = (results: HostDiagnosis[], host: string): DoctorStep[] =>
  results.find((r) => r.host === host)?.steps ?? [];

describe('ygg doctor on local hosts', () => {
  it('lists the protections in force, warns for each one that is not, and says a host has no nvidia-smi', async () => {
    const dir = await testDir('doctor-local');
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'work'));
    await chmod(join(dir, 'work'), 0o1777);
    ensureUser(SANDBOX_USER);
    const config = join(dir, 'hosts.yaml');
    await writeFile(
      config,
      `hosts:
  guarded:
    sandbox: {run_as: ${SANDBOX_USER}, work_root: ${dir}/work}
  open:
    sandbox: {enabled: false, run_as: ${SANDBOX_USER}, work_root: ${dir}/work}
`,
    );
    const env = { PATH: pathWithoutNvidiaSmi() };
    const json = await runYgg(['doctor', '--json', '--config', config], { cwd: dir, env });
    expect(json.stderr).toBe('');
    const results = JSON.parse(json.stdout) as HostDiagnosis[];

    const guarded = stepsOf(results, 'guarded');
    expect(guarded.map((s) => [s.step, s.status])).toEqual([
      ['run', 'ok'],
      ['protections', 'ok'],
      ['sandboxed run', 'ok'],
      ['nvidia-smi', 'skip'],
    ]);
    expect(guarded[1]!.detail).toMatch(/bubblewrap: read-only system; home directories hidden; .*no network/);
    expect(guarded[3]!.detail).toBe('not installed: no GPU data (fine for a CPU-only host)');

    const open = stepsOf(results, 'open');
    const off = open.find((s) => s.step === 'not in force' && s.detail.startsWith('bubblewrap'));
    expect(off).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^bubblewrap \(sandbox\.enabled is false in hosts\.yaml\)/),
      fix: 'Set hosts.open.sandbox.enabled to true (or remove it) in hosts.yaml.',
    });
    expect(open.find((s) => s.step === 'protections')?.detail).not.toMatch(/bubblewrap|no network/);
    // Without bubblewrap a command gets no cgroup of its own unless hosts.yaml asks for one.
    expect(open.find((s) => s.step === 'not in force' && s.detail.startsWith('a cgroup'))).toMatchObject({
      detail: expect.stringMatching(
        /^a cgroup of its own \(sandbox\.enabled is false in hosts\.yaml, and sandbox\.cgroup is not true\)/,
      ),
      fix: expect.stringMatching(/^Set hosts\.open\.sandbox\.cgroup to true in hosts\.yaml/),
    });

    const text = await runYgg(['doctor', 'open', '--config', config], { cwd: dir, env });
    expect(text.stdout).toContain('  WARN not in force: bubblewrap (sandbox.enabled is false in hosts.yaml)');
    expect(text.stdout).toContain('       fix: Set hosts.open.sandbox.enabled to true');
    expect(text.stdout).not.toContain('present and working');

    // `ygg hosts` says the same of GPUs on a local host as on an SSH one.
    const hosts = await runYgg(['hosts', '--json', '--config', config], { cwd: dir, env });
    const reports = JSON.parse(hosts.stdout) as HostReport[];
    expect(reports.map((r) => [r.name, r.gpus])).toEqual([
      ['guarded', null],
      ['open', null],
    ]);
  });

  it('lists every model each endpoint serves, checks models_by_type too, and fits the hint to the failure', async () => {
    const dir = await testDir('doctor-models');
    await using ollama = await startModelServer({
      models: ['llama3:latest', 'phi3:mini', 'qwen2.5-coder:7b'],
    });
    await using coder = await startModelServer({ models: ['starcoder2:3b'] });
    await using locked = await startModelServer({ models: ['gpt-4o-mini'], apiKey: 'the-right-key' });
    const gone = await startModelServer();
    const goneUrl = gone.url;
    await gone.close();
    const config = join(dir, 'hosts.yaml');
    const model = (api: string, url: string, name: string, extra = '') =>
      `    model: {api: ${api}, url: ${url}, model: ${name}${extra}}\n`;
    await writeFile(
      config,
      `hosts:
  surtr:
${model('ollama', ollama.url, 'llama3:latest')}    models_by_type:
      code-generation: {model: qwen2.5-coder:7b}
      code-review: {url: ${coder.url}, model: deepseek-coder:33b}
  nokey:
${model('openai', locked.url, 'gpt-4o-mini')}  badkey:
${model('openai', locked.url, 'gpt-4o-mini', ', api_key_env: YGG_DOCTOR_TEST_KEY')}  unset:
${model('openai', locked.url, 'gpt-4o-mini', ', api_key_env: YGG_DOCTOR_UNSET_KEY')}  down:
${model('ollama', goneUrl, 'llama3:latest')}  lost:
    transport: ssh
    address: ygg-no-such-host.invalid
`,
    );
    const env = { PATH: pathWithoutNvidiaSmi(), YGG_DOCTOR_TEST_KEY: 'a-wrong-key' };
    const out = await runYgg(['doctor', '--json', '--config', config], { cwd: dir, env });
    expect(out.code).toBe(1);
    const results = JSON.parse(out.stdout) as HostDiagnosis[];
    const endpoints = (host: string) => stepsOf(results, host).filter((s) => s.step === 'model endpoint');

    const [main, review] = endpoints('surtr');
    expect(main).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(
        'serves 3 models: llama3:latest, phi3:mini, qwen2.5-coder:7b; configured: llama3:latest (hosts.surtr.model), qwen2.5-coder:7b (hosts.surtr.models_by_type.code-generation)',
      ),
    });
    expect(review).toMatchObject({
      status: 'fail',
      detail: `${coder.url} (ollama) serves 1 model: starcoder2:3b; not served: deepseek-coder:33b (hosts.surtr.models_by_type.code-review.model)`,
      fix: 'Pull deepseek-coder:33b on surtr (ollama pull deepseek-coder:33b), or set hosts.surtr.models_by_type.code-review.model to a model it serves.',
    });

    expect(endpoints('nokey')[0]).toMatchObject({
      status: 'fail',
      fix: 'The endpoint wants an API key (HTTP 401): put it in an environment variable and name that variable in hosts.nokey.model.api_key_env.',
    });
    expect(endpoints('badkey')[0]).toMatchObject({
      status: 'fail',
      fix: 'The endpoint refused the key in YGG_DOCTOR_TEST_KEY (HTTP 401): check the key, and that hosts.badkey.model.api_key_env names the right variable.',
    });
    expect(endpoints('unset')[0]).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(
        'environment variable YGG_DOCTOR_UNSET_KEY (named by hosts.unset.model.api_key_env) is not set',
      ),
      fix: 'Set YGG_DOCTOR_UNSET_KEY in the environment ygg runs in (hosts.unset.model.api_key_env names it), or remove hosts.unset.model.api_key_env if the endpoint needs no key.',
    });
    expect(endpoints('down')[0]).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('ECONNREFUSED'),
      fix: `Start the model server on down, or check hosts.down.model.url (${goneUrl}): it must be reachable from this machine.`,
    });
    expect(JSON.stringify(results)).not.toContain('a-wrong-key');

    expect(stepsOf(results, 'lost')).toEqual([
      expect.objectContaining({
        step: 'name',
        status: 'fail',
        fix: "Check hosts.lost.address in hosts.yaml (the host's name when unset), or DNS / /etc/hosts.",
      }),
    ]);
  });
});
