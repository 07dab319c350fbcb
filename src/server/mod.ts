/**
 * Server mode: stdio servers exposed over SSE and Streamable HTTP.
 * @module
 */
import type { ServerSettings } from "../cli/settings.ts";
import { getLogger } from "../log.ts";

/** Runs server mode until SIGINT or SIGTERM; resolves to the exit code. */
export function runServer(settings: ServerSettings): Promise<number> {
  const names = [settings.defaultServer, ...settings.namedServers].filter(Boolean).length;
  getLogger("mcp_proxy.server").error(`Server mode (${names} servers) is not implemented yet.`);
  return Promise.resolve(1);
}
