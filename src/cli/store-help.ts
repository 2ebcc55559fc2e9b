/** What `--store` takes, in every command's help (a module of its own: help loads nothing else). */
export const storeOptionHelp =
  'the Beads file or a postgres:// URL (default: YGG_STORE, else store: in hosts.yaml, else .beads/issues.jsonl found upward)';
