/**
 * For the import-circle check only (`npm run lint:deps`): turns type-only imports and exports into
 * plain ones so that dependency-cruiser, which reads TypeScript through Babel here, still sees
 * them. A circle through a type import is a circle in the design even though compiled code drops
 * it. Runs on entering the program: the TypeScript preset drops type imports at that point too.
 */
module.exports = function keepTypeImports() {
  return {
    name: 'keep-type-imports',
    visitor: {
      Program: {
        enter(path) {
          for (const statement of path.node.body) {
            if (statement.type === 'ImportDeclaration') {
              statement.importKind = 'value';
              for (const specifier of statement.specifiers) specifier.importKind = 'value';
            } else if (statement.type === 'ExportNamedDeclaration' && statement.source) {
              statement.exportKind = 'value';
              for (const specifier of statement.specifiers) specifier.exportKind = 'value';
            }
          }
        },
      },
    },
  };
};
