/**
 * Stdio server definitions: what to start, with which environment, and where.
 * @module
 */

/** One stdio MCP server to spawn. */
export interface StdioServerConfig {
  /** `"default"` for the server at the root, else the NAME served under `/servers/NAME/`. */
  name: string;
  /** Executable, used verbatim. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The child's complete environment. */
  env: Record<string, string>;
  /** Working directory; the proxy's own when absent. */
  cwd?: string;
}

/** Name under which the server given by `command_or_url` is known (in `/status`, in logs). */
export const DEFAULT_SERVER_NAME = "default";

/** Whether `name` can be served as the single URL path segment `/servers/NAME/`. */
export function isValidServerName(name: string): boolean {
  return /^[A-Za-z0-9._~-]+$/.test(name) && name !== "." && name !== "..";
}

/** Explains what a server name may contain. */
export const SERVER_NAME_RULE =
  "a name must be one URL path segment: letters, digits, '.', '_', '~' or '-' (not '.' or '..')";
