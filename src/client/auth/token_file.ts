/**
 * Where OAuth tokens and client registrations live: a JSON file only the user can read, under
 * the user's configuration directory unless `--oauth-token-file` or `MCP_PROXY_OAUTH_FILE`
 * moves it.
 * @module
 */
import { join } from "node:path";

/** The environment variable that moves the token file. */
export const TOKEN_FILE_ENV = "MCP_PROXY_OAUTH_FILE";

/**
 * The token file's default path: `$XDG_CONFIG_HOME` (or `~/.config`) on Linux and the BSDs,
 * `~/Library/Application Support` on macOS, `%APPDATA%` on Windows.
 */
export function defaultTokenFilePath(env: Record<string, string>, platform: string): string {
  const home = env.HOME ?? env.USERPROFILE ?? ".";
  const configDir = platform === "win32"
    ? env.APPDATA ?? join(home, "AppData", "Roaming")
    : platform === "darwin"
    ? join(home, "Library", "Application Support")
    : env.XDG_CONFIG_HOME || join(home, ".config");
  return join(configDir, "mcp-proxy", "oauth.json");
}
