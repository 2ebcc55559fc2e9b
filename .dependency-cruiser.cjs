/**
 * dependency-cruiser's rules for src/ (`npm run lint:deps`): no import circles, type-only imports
 * included (a circle through a type is still a circle in the design).
 *
 * How TypeScript is read: the project's TypeScript 7 has no compiler API for tools, so the files
 * go through Babel (scripts/babel-depcruise.json), with a plugin that keeps type-only imports
 * (scripts/babel-keep-type-imports.cjs). @swc/core being installed is what makes
 * dependency-cruiser scan .ts files at all; its own swc parser is not used, as it stops at
 * `using` declarations.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'An import circle in src/: move the shared part into its own module, or pass it in at construction (CONTRIBUTING.md).',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    babelConfig: { fileName: 'scripts/babel-depcruise.json' },
  },
};
