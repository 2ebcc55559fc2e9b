/** A writer waiting for the store's lock wakes when the holder removes the lock folder, not at its next poll. */
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockReleaseWatch } from '../../src/store/beads-jsonl/lock-release-watch.js';
import { testDir } from '../helpers/tmp.js';

describe('LockReleaseWatch', () => {
  it('ends a wait when the lock folder goes, long before its poll would', { timeout: 20_000 }, async () => {
    const lockPath = join(await testDir('lock-release'), 'issues.jsonl.lock');
    await mkdir(lockPath);
    const watch = new LockReleaseWatch(lockPath);
    // A poll of a minute: only the release can end this wait within the test's bound.
    const waiting = watch.pause(60_000);
    await rmdir(lockPath);
    await expect(waiting).resolves.toBeUndefined();
    watch.stop();
  });
});
