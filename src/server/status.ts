/**
 * The `/status` document: when the API was last used and the state of every server.
 * @module
 */
import type { ServerState, SharedServer } from "../core/types.ts";

/** The body of `GET /status`. */
export interface StatusBody {
  /** ISO-8601 UTC time of the last new SSE connection or `/mcp` request (or of start-up). */
  api_last_activity: string;
  /** How many `/sse` streams are open, over all servers. */
  active_sse_connections: number;
  /**
   * Each server's current state, by its distinct name: `default` for the server at the root,
   * NAME for `/servers/NAME/` (`servers/default` for a named `default` beside a root server).
   */
  server_instances: Record<string, ServerState>;
  /**
   * The protocol era each server's child speaks (an mcp-proxy addition): `legacy`
   * (2025-11-25 and earlier), `modern` (2026-07-28), or `unknown` until it was probed.
   */
  server_eras: Record<string, "legacy" | "modern" | "unknown">;
}

/** Tracks API activity and reports it with the servers' states. */
export class ActivityStatus {
  readonly #servers: readonly SharedServer[];
  readonly #openSseStreams: () => number;
  // A number, not a Date: touched on every /mcp request, formatted only when asked for.
  #lastActivity = Date.now();

  /**
   * Reports the states of `servers` and the count of open `/sse` streams that
   * `openSseStreams` gives; activity counts from now.
   */
  constructor(servers: readonly SharedServer[], openSseStreams: () => number) {
    this.#servers = servers;
    this.#openSseStreams = openSseStreams;
  }

  /** Records API activity now. */
  touch(): void {
    this.#lastActivity = Date.now();
  }

  /** The current status document. */
  snapshot(): StatusBody {
    return {
      api_last_activity: new Date(this.#lastActivity).toISOString(),
      active_sse_connections: this.#openSseStreams(),
      server_instances: Object.fromEntries(this.#servers.map((s) => [s.name, s.state])),
      server_eras: Object.fromEntries(this.#servers.map((s) => [s.name, s.era ?? "unknown"])),
    };
  }
}
