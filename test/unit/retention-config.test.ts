import { describe, expect, it } from 'vitest';
import { configDefaults } from '../../src/config/defaults.js';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';
import { parseDuration } from '../../src/config/units.js';

const day = 86_400_000;

describe('retention in hosts.yaml', () => {
  it('defaults to limits that fit a small disk', () => {
    const { config, errors } = parseConfig('hosts:\n  solo: {}\n', 'hosts.yaml');
    expect(errors).toEqual([]);
    expect(config!.retention).toEqual({
      intervalMs: 600_000,
      artifacts: { maxBytes: 2 ** 30, maxAgeMs: 30 * day },
      trajectories: { maxBytes: 2 ** 30, maxAgeMs: 90 * day },
      logs: { maxBytes: 256 * 2 ** 20, maxAgeMs: 30 * day },
    });
    expect(config!.retention).toEqual(configDefaults.retention);
  });

  it('reads sizes and durations as the rest of the file does, days included', () => {
    expect(parseDuration('30d')).toBe(30 * day);
    const { config, errors } = parseConfig(
      [
        'hosts:',
        '  solo: {}',
        'retention:',
        '  interval: 90s',
        '  artifacts: {max_bytes: 20M, max_age: 7d}',
        '  logs: {max_age: 12h}',
      ].join('\n'),
      'hosts.yaml',
    );
    expect(errors).toEqual([]);
    expect(config!.retention).toEqual({
      intervalMs: 90_000,
      artifacts: { maxBytes: 20 * 2 ** 20, maxAgeMs: 7 * day },
      trajectories: configDefaults.retention.trajectories,
      logs: { maxBytes: configDefaults.retention.logs.maxBytes, maxAgeMs: 12 * 3_600_000 },
    });
  });

  it('names the key and line of a bad value', () => {
    const { errors } = parseConfig(
      ['hosts:', '  solo: {}', 'retention:', '  artifacts: {max_bytes: lots}', '  logs: {keep: 3}'].join(
        '\n',
      ),
      'hosts.yaml',
    );
    expect(errors.map((e) => formatProblem(e))).toEqual([
      expect.stringMatching(/^hosts\.yaml:4: retention\.artifacts\.max_bytes: expected a size like 512M/),
      expect.stringMatching(/^hosts\.yaml:5: retention\.logs.*keep/),
    ]);
  });
});
