/**
 * Stdio server definitions: what to start, with which environment, and where.
 * @module
 */

/** One stdio MCP server to spawn. */
export interface StdioServerConfig {
  /**
   * Its label in `/status` and in logs, distinct among the servers of a run: `"default"` for
   * the server at the root, else the NAME of `/servers/NAME/` (see {@linkcode distinctNames}).
   */
  name: string;
  /** Executable, used verbatim. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The child's complete environment. */
  env: Record<string, string>;
  /** Working directory; the proxy's own when absent. */
  cwd?: string;
  /** What its clients may hold; {@linkcode DEFAULT_SERVING_LIMITS} when absent. */
  limits?: ServingLimits;
}

/** Bounds on what the clients of one server may hold (mcp-proxy additions). */
export interface ServingLimits {
  /** Longest a forwarded request waits for its answer, in ms (`--request-timeout`; 0: ever). */
  readonly requestTimeoutMs: number;
  /** Longest a Streamable HTTP session may stay unused, in ms (`--session-timeout`; 0: ever). */
  readonly sessionIdleMs: number;
}

/** Five minutes per request, thirty per idle session. */
export const DEFAULT_SERVING_LIMITS: ServingLimits = {
  requestTimeoutMs: 300_000,
  sessionIdleMs: 1_800_000,
};

/** A stdio server as server mode serves it: what to start and where to mount it. */
export interface ServedServerConfig extends StdioServerConfig {
  /**
   * The URL path prefix it is served under, decided when settings are built: `""` (the root)
   * for the default server, `/servers/NAME` for a named one, whatever NAME is.
   */
  pathPrefix: string;
}

/** Name under which the server given by `command_or_url` is known (in `/status`, in logs). */
export const DEFAULT_SERVER_NAME = "default";

/** The URL path prefix of the named server NAME. */
export function namedServerPathPrefix(name: string): string {
  return `/servers/${name}`;
}

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
 * The longest server name. The router fails (it overflows its stack) on a path segment of some
 * thousands of characters; a name is a label, and this leaves a wide margin.
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
