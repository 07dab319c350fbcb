/**
 * Readiness (`GET /ready`) and the drain after SIGTERM (`--drain-timeout`): a draining
 * instance tells its load balancer it is not ready, and refuses what would start something
 * new here (a session, a modern call) with 503 and `Retry-After`, so that the balancer tries
 * another instance; what runs here already (sessions, retries of its parked multi round-trip
 * calls, calls in flight) is served until it ends.
 * @module
 */
import type { ServerState } from "../../core/types.ts";
import { ProtocolErrorCode, type RequestId } from "../../protocol/jsonrpc.ts";
import { stateInstance } from "../../protocol/request_state.ts";
import { jsonRpcErrorResponse } from "../http/http_error.ts";
import type { Check } from "../guards/check.ts";
import {
  isSessionlessPost,
  type McpRoute,
  type ReceivedEnv,
  withPostedState,
} from "./posted_state.ts";

/** The body of `GET /ready`. */
export type ReadyBody = { ready: true } | { ready: false; reason: string };

/**
 * Whether the instance takes new clients: every one of `servers` runs and it is not
 * `draining`; else why not.
 */
export function readiness(
  servers: readonly { readonly name: string; readonly state: ServerState }[],
  draining: boolean,
): ReadyBody {
  if (draining) return { ready: false, reason: "draining: shutting down" };
  const idle = servers.filter(({ state }) => state !== "running");
  if (idle.length === 0) return { ready: true };
  const said = (state: ServerState) =>
    state === "failed" || state === "stopped" ? `has ${state}` : `is ${state}`;
  return {
    ready: false,
    reason: idle.map(({ name, state }) => `server '${name}' ${said(state)}`).join("; "),
  };
}

/** The answer to what would start something new on a draining instance. */
function draining(id: RequestId | null = null): Response {
  return jsonRpcErrorResponse(
    503,
    ProtocolErrorCode.TransportRefused,
    "Service Unavailable: this mcp-proxy instance is shutting down; retry on another one",
    { "retry-after": "1" },
    id,
  );
}

/** How the drain gate of one route tells what is this instance's own. */
export interface DrainGateOptions {
  /** Whether the instance drains now. */
  readonly draining: () => boolean;
  /** This instance's id among several; absent: every request state is its own. */
  readonly instanceId?: string;
  /** Largest request body read to find a request state (the route's own limit). */
  readonly maxBodyBytes: number;
}

/**
 * The check of one of a server's MCP routes that, while the instance drains, refuses
 * `GET /sse` and sessionless POSTs to `/mcp` (`initialize`, modern calls) unless they retry a
 * call parked here (a request state of this instance). Requests of open sessions pass.
 */
export function drainGate(
  options: DrainGateOptions,
  route: McpRoute,
): Check<ReceivedEnv> | undefined {
  if (route === "messages") return undefined;
  const { instanceId } = options;
  return (c) => {
    if (!options.draining()) return undefined;
    if (route === "sse") return c.req.method === "GET" ? draining() : undefined;
    if (!isSessionlessPost(c, route)) return undefined;
    return withPostedState(c, options.maxBodyBytes, ({ id, state }) => {
      const own = state !== undefined &&
        (instanceId === undefined || stateInstance(state) === instanceId);
      return own ? undefined : draining(id);
    });
  };
}
