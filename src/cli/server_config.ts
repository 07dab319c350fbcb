/**
 * Server names: which are valid, where each is mounted, and labels distinct in `/status`.
 * @module
 */
import type { ServedServerConfig } from "../config.ts";

/**
 * Gives the named servers labels distinct from the default server's. The only possible clash
 * is a named server called `default` beside a default server (named servers are unique among
 * themselves): the default server keeps `default`, as in the original's `/status`, and the
 * named one is labelled by its mount point without the slash, `servers/default`, which no
 * NAME can be (a NAME is one path segment).
 */
export function distinctNames(
  defaultServer: ServedServerConfig | undefined,
  named: ServedServerConfig[],
): ServedServerConfig[] {
  if (!defaultServer) return named;
  return named.map((server) =>
    server.name === defaultServer.name ? { ...server, name: server.pathPrefix.slice(1) } : server
  );
}

/**
 * The longest server name: a name is a label in URLs, logs and `/status`. Hono's default router
 * overflows its stack on a path segment of some thousands of characters (ours is a trie router,
 * which does not); the bound keeps every route far from such lengths.
 */
export const MAX_SERVER_NAME_LENGTH = 128;

/** Whether `name` can be served as the single URL path segment `/servers/NAME/`. */
export function isValidServerName(name: string): boolean {
  return name.length <= MAX_SERVER_NAME_LENGTH && /^[A-Za-z0-9._~-]+$/.test(name) &&
    name !== "." && name !== "..";
}

/** Explains what a server name may contain. */
export const SERVER_NAME_RULE: string =
  `a name must be one URL path segment of at most ${MAX_SERVER_NAME_LENGTH} characters: ` +
  "letters, digits, '.', '_', '~' or '-' (not '.' or '..')";
