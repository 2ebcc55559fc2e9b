import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ToolDefinition } from '../../src/config/types.js';
import { LocalTransport } from '../../src/hosts/local.js';
import {
  type ExecOptions,
  type ExecResult,
  HostUnreachableError,
  type Transport,
} from '../../src/hosts/transport.js';
import { EventBus, type YggEvents } from '../../src/observe/events.js';
import { summarizeToolResult, type ToolHost, ToolQueue } from '../../src/pipeline/tool-queue.js';
import { testDir } from '../helpers/tmp.js';

// The tool: appends "start HOST" / "end HOST" lines to a shared log, then prints its input.
const toolScript = `
const { appendFileSync, readFileSync } = require('node:fs');
const [log, host, input] = process.argv.slice(2);
appendFileSync(log, 'start ' + host + '\\n');
console.log('started');
setTimeout(() => {
  appendFileSync(log, 'end ' + host + '\\n');
  console.log('input=' + readFileSync(input, 'utf8'));
  console.log('passed 3 failed 1');
}, Number(process.env.TOOL_MS || 50));
`;

async function setup(name: string) {
  const dir = await testDir(name);
  const script = join(dir, 'tool.cjs');
  await writeFile(script, toolScript);
  const log = join(dir, 'runs.log');
  await writeFile(log, '');
  const input = join(dir, 'input.txt');
  await writeFile(input, 'one');
  const tools: Record<string, ToolDefinition> = {
    run_tests: {
      name: 'run_tests',
      argv: ['node', '{script}', '{log}', '{host}', '{input}'],
      files: { script },
    },
  };
  const host = (
    hostName: string,
    transport: Transport = new LocalTransport(hostName),
    slots = 2,
  ): ToolHost => ({
    name: hostName,
    slots,
    transport,
    workRoot: join(dir, 'work', hostName),
  });
  const runs = async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  return { dir, log, input, tools, host, runs };
}

/** A tools host whose connection drops once the tool has started: the process is killed, exec rejects. */
class DropsMidCall implements Transport {
  readonly kind = 'local' as const;
  readonly #inner: LocalTransport;
  constructor(readonly hostName: string) {
    this.#inner = new LocalTransport(hostName);
  }
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv[0] !== 'node') return this.#inner.exec(argv, options);
    const cut = new AbortController();
    let started: () => void = () => {};
    const startedPromise = new Promise<void>((resolve) => {
      started = resolve;
    });
    const run = this.#inner.exec(argv, {
      ...options,
      signal: cut.signal,
      onOutput: (chunk) => {
        if (chunk.includes('started')) started();
      },
    });
    await Promise.race([startedPromise, run]);
    cut.abort();
    await run;
    throw new HostUnreachableError(this.hostName, `connection to ${this.hostName} lost`);
  }
  put(l: string, r: string) {
    return this.#inner.put(l, r);
  }
  get(r: string, l: string) {
    return this.#inner.get(r, l);
  }
  probe() {
    return this.#inner.probe();
  }
  close() {
    return this.#inner.close();
  }
  async [Symbol.asyncDispose]() {}
}

/** A tool that starts, then waits until the gate file `{gate}{id}` exists. */
async function gatedTool(dir: string) {
  const script = join(dir, 'gated.cjs');
  await writeFile(
    script,
    `const fs = require('node:fs'); const [log, id, gate] = process.argv.slice(2);
     fs.appendFileSync(log, 'start ' + id + '\\n');
     const t = setInterval(() => { if (fs.existsSync(gate + id)) { clearInterval(t); fs.appendFileSync(log, 'end ' + id + '\\n'); } }, 5);`,
  );
  const tools: Record<string, ToolDefinition> = {
    block: { name: 'block', argv: ['node', script, '{log}', '{id}', '{gate}'], files: {} },
  };
  return { tools, gate: join(dir, 'gate-') };
}

/** Wait for a condition, within a generous bound. */
async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function record(events: EventBus) {
  const calls: YggEvents['tool:called'][] = [];
  events.on('tool:called', (e) => calls.push(e));
  return calls;
}

describe('ToolQueue', () => {
  it('runs a named tool on a tools host with its files put there first', async () => {
    const s = await setup('tool-runs');
    const queue = new ToolQueue({ tools: s.tools, hosts: [s.host('tools-a')] });
    const result = await queue.call(
      'run_tests',
      { log: s.log, host: 'tools-a' },
      { files: { input: s.input } },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.code).toBe(0);
    expect(result.host).toBe('tools-a');
    expect(result.stdout).toContain('input=one');
    expect(result.cached).toBe(false);
    expect(result.key).toMatch(/^[0-9a-f]{64}$/);
    expect(await s.runs()).toEqual(['start tools-a', 'end tools-a']);
  });

  it('keeps the duration of a call in whole milliseconds (the trajectory log and the handler get no timer fractions)', async () => {
    const s = await setup('tool-duration');
    const queue = new ToolQueue({ tools: s.tools, hosts: [s.host('tools-a')] });
    const result = await queue.call(
      'run_tests',
      { log: s.log, host: 'tools-a' },
      { files: { input: s.input } },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.durationMs).toBeGreaterThan(0);
    expect(Number.isInteger(result.durationMs)).toBe(true);
    expect(Number.isInteger(summarizeToolResult(result).durationMs)).toBe(true);
  });

  it('returns the cached result for an identical call within the TTL, and runs again after it or when an input changes', async () => {
    const s = await setup('tool-cache');
    let now = 0;
    const events = new EventBus();
    const calls = record(events);
    const queue = new ToolQueue({
      tools: s.tools,
      hosts: [s.host('tools-a')],
      cacheTtlMs: 60_000,
      now: () => now,
      events,
    });
    const args = { log: s.log, host: 'tools-a' };
    const first = await queue.call('run_tests', args, { files: { input: s.input } });
    // Same name, args (in another key order) and file contents: cached.
    const second = await queue.call(
      'run_tests',
      { host: 'tools-a', log: s.log },
      { files: { input: s.input } },
    );
    expect(second.cached).toBe(true);
    expect(second.key).toBe(first.key);
    expect(second.ok && second.stdout).toContain('input=one');
    expect(await s.runs()).toHaveLength(2); // one start, one end
    expect(calls.map((c) => c.cached)).toEqual([false, true]);

    await writeFile(s.input, 'two'); // new contents: a new call
    const third = await queue.call('run_tests', args, { files: { input: s.input } });
    expect(third.cached).toBe(false);
    expect(third.ok && third.stdout).toContain('input=two');

    now = 60_001; // past the TTL
    const fourth = await queue.call('run_tests', args, { files: { input: s.input } });
    expect(fourth.cached).toBe(false);
    expect(await s.runs()).toHaveLength(6);
  });

  it('shares one run between identical calls made at the same time', async () => {
    const s = await setup('tool-inflight');
    const queue = new ToolQueue({ tools: s.tools, hosts: [s.host('tools-a')] });
    const args = { log: s.log, host: 'tools-a' };
    const results = await Promise.all(
      [1, 2, 3].map(() => queue.call('run_tests', args, { files: { input: s.input } })),
    );
    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    expect(await s.runs()).toEqual(['start tools-a', 'end tools-a']);
  });

  it("a shared run outlives one caller's abort: that caller alone is rejected, the others get the result", async () => {
    const s = await setup('tool-inflight-abort-one');
    const gated = await gatedTool(s.dir);
    const queue = new ToolQueue({ tools: gated.tools, hosts: [s.host('tools-a')], cacheTtlMs: 0 });
    const args = { log: s.log, id: 'x', gate: gated.gate };
    const first = new AbortController();
    const second = new AbortController();
    const calls = [
      queue.call('block', args, { signal: first.signal }),
      queue.call('block', args, { signal: second.signal }),
      queue.call('block', args),
    ];
    await until(async () => (await s.runs()).includes('start x'));
    first.abort(new Error('first caller cancelled'));
    await expect(calls[0]).rejects.toThrow('first caller cancelled');
    await writeFile(`${gated.gate}x`, '');
    const [second1, third] = await Promise.all([calls[1], calls[2]]);
    expect(second1).toMatchObject({ ok: true, code: 0, cached: true });
    expect(third).toMatchObject({ ok: true, code: 0, cached: true });
    // One run, not cut short by the first caller's abort.
    expect(await s.runs()).toEqual(['start x', 'end x']);
  });

  it('aborts a shared run once every caller waiting on it has aborted', async () => {
    const s = await setup('tool-inflight-abort-all');
    const gated = await gatedTool(s.dir);
    const queue = new ToolQueue({ tools: gated.tools, hosts: [s.host('tools-a')], cacheTtlMs: 0 });
    const args = { log: s.log, id: 'y', gate: gated.gate };
    const controllers = [new AbortController(), new AbortController()];
    const calls = controllers.map((c) => queue.call('block', args, { signal: c.signal }));
    await until(async () => (await s.runs()).includes('start y'));
    controllers[0]!.abort(new Error('one'));
    await expect(calls[0]).rejects.toThrow('one');
    expect(queue.inUse('tools-a')).toBe(1); // still running for the second caller
    controllers[1]!.abort(new Error('two'));
    await expect(calls[1]).rejects.toThrow('two');
    await until(async () => queue.inUse('tools-a') === 0); // the tool process was ended
    expect(await s.runs()).toEqual(['start y']);
    // A new identical call runs afresh rather than joining the aborted run.
    await writeFile(`${gated.gate}y`, '');
    const again = await queue.call('block', args);
    expect(again).toMatchObject({ ok: true, cached: false });
  });

  it('retries on another tools host when one fails mid-call', async () => {
    const s = await setup('tool-failover');
    const events = new EventBus();
    const calls = record(events);
    const queue = new ToolQueue({
      tools: s.tools,
      // tools-a is idle, so it is picked first; its connection drops once the tool runs.
      hosts: [s.host('tools-a', new DropsMidCall('tools-a')), s.host('tools-b')],
      events,
    });
    const result = await queue.call(
      'run_tests',
      { log: s.log, host: 'which' },
      { files: { input: s.input }, taskId: 'bd-1' },
    );
    expect(result.ok).toBe(true);
    expect(result.ok && result.host).toBe('tools-b');
    expect(result.attempts).toBe(2);
    // It really started on tools-a, and was cut off there before it ended.
    expect(await s.runs()).toEqual(['start which', 'start which', 'end which']);
    expect(calls.map((c) => [c.host, c.ok])).toEqual([
      ['tools-a', false],
      ['tools-b', true],
    ]);
    expect(calls[0]!.taskId).toBe('bd-1');
  });

  it('gives the handler an error after max_attempts host failures', async () => {
    const s = await setup('tool-gives-up');
    const queue = new ToolQueue({
      tools: s.tools,
      hosts: [
        s.host('a', new DropsMidCall('a')),
        s.host('b', new DropsMidCall('b')),
        s.host('c', new DropsMidCall('c')),
      ],
      maxAttempts: 2,
    });
    const result = await queue.call('run_tests', { log: s.log, host: 'x' }, { files: { input: s.input } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.attempts).toBe(2);
    expect(result.hostsTried).toEqual(['a', 'b']);
    expect(result.error).toMatch(
      /failed on 2 tools host\(s\): a: connection to a lost; b: connection to b lost/,
    );
    // A failure is not cached: the next call tries again.
    const again = await queue.call('run_tests', { log: s.log, host: 'x' }, { files: { input: s.input } });
    expect(again.cached).toBe(false);
  });

  it('skips a tools host while it is down and uses it again once it is up', async () => {
    const s = await setup('tool-host-down');
    const events = new EventBus();
    const queue = new ToolQueue({
      tools: s.tools,
      hosts: [s.host('tools-a'), s.host('tools-b')],
      events,
      cacheTtlMs: 0,
    });
    events.emit('host:down', { host: 'tools-a', error: 'probe failed' });
    const files = { files: { input: s.input } };
    const r1 = await queue.call('run_tests', { log: s.log, host: 'h' }, files);
    expect(r1.ok && r1.host).toBe('tools-b');
    events.emit('host:down', { host: 'tools-b', error: 'probe failed' });
    const r2 = await queue.call('run_tests', { log: s.log, host: 'h' }, files);
    expect(r2).toMatchObject({ ok: false, attempts: 0, error: 'no tools host is up for run_tests' });
    events.emit('host:up', { host: 'tools-a' });
    const r3 = await queue.call('run_tests', { log: s.log, host: 'h' }, files);
    expect(r3.ok && r3.host).toBe('tools-a');
    queue.close();
  });

  it("runs at most a host's slots at once: the third call starts only when one ends", async () => {
    const s = await setup('tool-slots');
    const blocking = join(s.dir, 'blocking.cjs');
    // Starts, then waits until the test creates its gate file.
    await writeFile(
      blocking,
      `const fs = require('node:fs'); const [log, id, gate] = process.argv.slice(2);
       fs.appendFileSync(log, 'start ' + id + '\\n');
       const t = setInterval(() => { if (fs.existsSync(gate + id)) { clearInterval(t); fs.appendFileSync(log, 'end ' + id + '\\n'); } }, 5);`,
    );
    const tools: Record<string, ToolDefinition> = {
      block: { name: 'block', argv: ['node', blocking, '{log}', '{id}', '{gate}'], files: {} },
    };
    const queue = new ToolQueue({ tools, hosts: [s.host('only', undefined, 2)], cacheTtlMs: 0 });
    const gate = join(s.dir, 'gate-');
    const calls = ['1', '2', '3'].map((id) => queue.call('block', { log: s.log, id, gate }));
    await until(async () => (await s.runs()).length === 2);
    expect(queue.inUse('only')).toBe(2);
    expect((await s.runs()).sort()).toEqual(['start 1', 'start 2']); // the third waits for a slot
    await writeFile(`${gate}1`, '');
    await until(async () => (await s.runs()).includes('start 3'));
    await writeFile(`${gate}2`, '');
    await writeFile(`${gate}3`, '');
    await Promise.all(calls);
    expect((await s.runs()).indexOf('start 3')).toBeGreaterThan((await s.runs()).indexOf('end 1'));
    expect(queue.inUse('only')).toBe(0);
  });

  it('refuses an unknown tool or a template it cannot fill, without touching a host', async () => {
    const s = await setup('tool-bad-call');
    const queue = new ToolQueue({ tools: s.tools, hosts: [s.host('tools-a')] });
    await expect(queue.call('compile')).rejects.toThrow(/unknown tool "compile"/);
    await expect(queue.call('run_tests', { log: s.log })).rejects.toThrow(/no value for \{host\}/);
    expect(await s.runs()).toEqual([]);
  });
});
