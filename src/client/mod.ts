/**
 * Client mode: a remote SSE or Streamable HTTP server exposed on stdio.
 * @module
 */
import type { ClientSettings } from "../cli/settings.ts";
import { getLogger } from "../log.ts";

/** Runs client mode until stdin ends; resolves to the exit code. */
export function runClient(settings: ClientSettings): Promise<number> {
  getLogger("mcp_proxy.client").error(
    `Client mode (${settings.transport} to ${settings.url}) is not implemented yet.`,
  );
  return Promise.resolve(1);
}
