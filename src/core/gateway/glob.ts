/**
 * The globs of a server's filters, compiled once per server into predicates on names (tool
 * and prompt names, resource URIs and URI templates).
 * @module
 */
import type { NameFilter } from "../../config.ts";

/** Whether a name passes a filter. */
export type NamePredicate = (name: string) => boolean;

/** Characters a regular expression gives a meaning to, escaped where a glob has them. */
const REGEXP_SPECIALS = /[.+^${}()|[\]\\/]/g;

/** One glob as the body of a regular expression: `*` any run, `?` one character. */
function globSource(glob: string): string {
  return glob.replace(REGEXP_SPECIALS, "\\$&").replaceAll("*", ".*").replaceAll("?", ".");
}

/**
 * A predicate matching a whole name against any of `globs`, or `undefined` when there are
 * none. One expression for all of them: a name is looked at once however long the list.
 */
function anyOf(globs: readonly string[]): NamePredicate | undefined {
  if (globs.length === 0) return undefined;
  // `s`: a `?` or `*` stands for any character, a line break too; `u`: `?` is one code point.
  const pattern = new RegExp(`^(?:${globs.map(globSource).join("|")})$`, "su");
  return (name) => pattern.test(name);
}

/**
 * Whether `filter` keeps some names out. A filter that does not (absent, or with neither an
 * `allow` list nor a non-empty `deny` list) need not be looked at.
 */
export function restricts(filter: NameFilter | undefined): filter is NameFilter {
  return filter !== undefined && (filter.allow !== undefined || (filter.deny?.length ?? 0) > 0);
}

/**
 * The predicate of `filter`: a name passes when it matches some `allow` glob (any name when
 * `allow` is absent; none when it is an empty list) and no `deny` glob. Globs match the whole
 * name, case-sensitively.
 */
export function compileNameFilter(filter: NameFilter): NamePredicate {
  const allowed = filter.allow === undefined ? () => true : anyOf(filter.allow) ?? (() => false);
  const denied = anyOf(filter.deny ?? []);
  if (denied === undefined) return allowed;
  return (name) => allowed(name) && !denied(name);
}
