/**
 * Policy versions on a store shared by machines: the list of versions is one shared value
 * (`policy-versions`), numbered atomically against every machine's publications, so learners
 * and rollouts on any machine agree on the current version. Each checkpoint stays a file on the
 * machine that published it (its record names the host and the path).
 */
import type { SharedState } from '../store/store.js';

/** What is kept of a version here (policy.ts's PolicyVersion has it all). */
interface Versioned {
  version: number;
  checkpoint: string;
}

export const policyVersionsKey = 'policy-versions';

/** The versions in a shared value (none when absent or unreadable), oldest first. */
export function versionsIn<V extends Versioned>(value: unknown): V[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (v): v is V => !!v && typeof v === 'object' && typeof (v as Versioned).version === 'number',
  );
}

export async function readSharedVersions<V extends Versioned>(shared: SharedState): Promise<V[]> {
  return versionsIn<V>(await shared.read(policyVersionsKey));
}

/**
 * Appends the record `make` builds for the next number (current + 1, or `initial` when there is
 * none and `initial` is given: then an existing list is kept as it is). Resolves with the list
 * as written and the record (undefined when nothing was appended).
 */
export async function appendSharedVersion<V extends Versioned>(
  shared: SharedState,
  make: (version: number) => V,
  options: { onlyIfEmpty?: boolean } = {},
): Promise<{ versions: V[]; added?: V }> {
  let added: V | undefined;
  const written = await shared.update(policyVersionsKey, (current) => {
    const versions = versionsIn<V>(current);
    added = undefined;
    if (options.onlyIfEmpty && versions.length > 0) return versions;
    const last = versions.at(-1);
    added = make(options.onlyIfEmpty ? 0 : (last?.version ?? 0) + 1);
    return [...versions, added];
  });
  return { versions: versionsIn<V>(written), ...(added ? { added } : {}) };
}
