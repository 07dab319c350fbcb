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
  /**
   * How many children each server with a child per user or session runs now (an mcp-proxy
   * addition; only such servers are listed, and the key is left out when there is none).
   */
  server_children?: Record<string, number>;
  /**
   * The aggregate at `/mcp` and `/sse`, when one is served (an mcp-proxy addition): its
   * state and the state of each server it serves, in its order.
   */
  aggregate?: { state: ServerState; servers: Record<string, ServerState> };
}

/** A served server as `/status` reports it. */
export interface StatusEntry {
  /** The server, or the aggregate. */
  readonly server: SharedServer;
  /** Set for the aggregate: the servers it serves. */
  readonly aggregate?: { readonly members: readonly { readonly server: SharedServer }[] };
}

/** Tracks API activity and reports it with the servers' states. */
export class ActivityStatus {
  readonly #served: () => readonly StatusEntry[];
  readonly #openSseStreams: () => number;
  // A number, not a Date: touched on every /mcp request, formatted only when asked for.
  #lastActivity = Date.now();

  /**
   * Reports the states of the servers `served` gives and the count of open `/sse` streams
   * that `openSseStreams` gives; activity counts from now.
   */
  constructor(served: () => readonly StatusEntry[], openSseStreams: () => number) {
    this.#served = served;
    this.#openSseStreams = openSseStreams;
  }

  /** Records API activity now. */
  touch(): void {
    this.#lastActivity = Date.now();
  }

  /** The current status document. */
  snapshot(): StatusBody {
    const entries = this.#served();
    const servers = entries.filter((entry) => !entry.aggregate).map((entry) => entry.server);
    const body: StatusBody = {
      api_last_activity: new Date(this.#lastActivity).toISOString(),
      active_sse_connections: this.#openSseStreams(),
      server_instances: Object.fromEntries(servers.map((s) => [s.name, s.state])),
      server_eras: Object.fromEntries(servers.map((s) => [s.name, s.era ?? "unknown"])),
    };
    const isolating = servers.filter((s) => s.children !== undefined);
    if (isolating.length > 0) {
      body.server_children = Object.fromEntries(isolating.map((s) => [s.name, s.children!]));
    }
    const aggregate = entries.find((entry) => entry.aggregate);
    if (aggregate?.aggregate) {
      body.aggregate = {
        state: aggregate.server.state,
        servers: Object.fromEntries(
          aggregate.aggregate.members.map(({ server }) => [server.name, server.state]),
        ),
      };
    }
    return body;
  }
}
