import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real processes and sshd instances; two cores share them.
    maxWorkers: 2,
    reporters: ['default'],
    // A model server a developer runs on this machine must not change what the tests see: they
    // turn the search off (the tests of the search turn it back on for their own servers).
    env: { YGG_DISCOVER_MODELS: 'off' },
  },
});
