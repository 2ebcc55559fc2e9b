/**
 * YAML aliases, bounded: a file whose aliases expand too far (nested aliases, the "billion
 * laughs" attack) or that names an anchor not set before it is a problem at the alias's line,
 * found in time bounded by the limit, never an exception out of the parser.
 */
import { type Alias, type Document, isAlias, isCollection, isPair, type Node, visit } from 'yaml';

/** The most alias expansions a file may make, nested ones counted (the yaml library's default). */
export const maxAliasExpansions = 100;

export interface AliasProblem {
  message: string;
  /** Offset of the alias in the text. */
  offset: number;
}

/** The first alias that names no anchor or pushes the expansions over the limit, if any. */
export function aliasProblem(doc: Document, limit = maxAliasExpansions): AliasProblem | undefined {
  // Expansions inside a node when it is copied: every alias in it, plus what each one copies.
  const inside = new Map<unknown, number>();
  const expansions = (node: unknown): number => {
    const known = inside.get(node);
    if (known !== undefined) return known;
    inside.set(node, Number.POSITIVE_INFINITY); // an anchor reached again through itself
    let count = 0;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      count = target === undefined ? 0 : 1 + expansions(target);
    } else if (isCollection(node)) {
      for (const item of node.items) {
        count += expansions(item);
        if (count > limit) break;
      }
    } else if (isPair(node)) {
      count = expansions(node.key) + expansions(node.value);
    }
    inside.set(node, count);
    return count;
  };

  let total = 0;
  let problem: AliasProblem | undefined;
  visit(doc, {
    Alias(_key, alias: Alias) {
      const offset = (alias as Node).range?.[0] ?? 0;
      const target = alias.resolve(doc);
      if (target === undefined) {
        problem = {
          offset,
          message: `alias *${alias.source} names no anchor &${alias.source} set before it`,
        };
        return visit.BREAK;
      }
      const copies = expansions(target);
      if (copies === Number.POSITIVE_INFINITY) {
        problem = { offset, message: `alias *${alias.source} is inside the value its anchor names` };
        return visit.BREAK;
      }
      total += 1 + copies;
      if (total > limit) {
        problem = {
          offset,
          message: `alias *${alias.source} makes the aliases expand too far (over ${limit} copies, nested ones counted); write the values out instead`,
        };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return problem;
}
