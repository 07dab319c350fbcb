/**
 * What the scale-out middleware reads of a request before its route does: the instance a
 * session id names, and the `requestState` of a modern POST (its body read once, then kept
 * for the route in the request's bindings).
 * @module
 */
import type { Context } from "../../deps.ts";
import { isObject, type RequestId } from "../../protocol/jsonrpc.ts";
import { isInstanceId } from "../../protocol/request_state.ts";
import type { ReceivedRequest } from "../../runtime/types.ts";
import { withBodyText } from "../http/mcp_request.ts";
import type { Refusal } from "../guards/check.ts";

/** The Hono environment of the app: the request as received, its body read ahead. */
export type ReceivedEnv = { Bindings: ReceivedRequest };

/** Which of a server's MCP routes a check guards. */
export type McpRoute = "sse" | "messages" | "mcp";

/** The header a forwarded request carries: the id of the instance that forwarded it. */
export const FORWARDED_BY_HEADER = "x-mcp-proxy-forwarded-by";

/**
 * The instance a Streamable HTTP session id (`<instance>.<uuid>`) or the `instance` parameter
 * of `/messages/` names, if any: only a valid id, which goes into a peer's URL.
 */
export function namedInstance(
  value: string | null | undefined,
  dotted: boolean,
): string | undefined {
  if (!value) return undefined;
  const end = dotted ? value.indexOf(".") : value.length;
  const instance = value.slice(0, end);
  return end > 0 && isInstanceId(instance) ? instance : undefined;
}

/** The `requestState` of a POST's lone request, and the request's id. */
export interface PostedState {
  /** The request's id, `null` when it has none. */
  readonly id: RequestId | null;
  /** `params.requestState`, when it is a string. */
  readonly state: string | undefined;
}

/** The state and id of a body, when it is one JSON-RPC request that carries a state. */
function postedStateOf(text: string): PostedState {
  // Most POSTs carry no state: they are not parsed here.
  if (!text.includes('"requestState"')) return { id: null, state: undefined };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { id: null, state: undefined };
  }
  if (!isObject(value) || !isObject(value.params)) return { id: null, state: undefined };
  const { requestState } = value.params;
  const id = typeof value.id === "string" || typeof value.id === "number" ? value.id : null;
  return { id, state: typeof requestState === "string" ? requestState : undefined };
}

/**
 * Whether `c` is a POST to `/mcp` without a session id: a modern request (or a legacy
 * `initialize`), the only requests whose body may name an instance.
 */
export function isSessionlessPost(c: Context<ReceivedEnv>, route: McpRoute): boolean {
  return route === "mcp" && c.req.method === "POST" && !c.req.header("mcp-session-id");
}

/**
 * Reads the body of `c` (at most `maxBytes`: past that, the route's own 413), keeps it for
 * the route, and calls `use` with the state it carries; `use` may let the request through.
 */
export function withPostedState(
  c: Context<ReceivedEnv>,
  maxBytes: number,
  use: (posted: PostedState) => Refusal | Promise<Refusal>,
): Refusal | Promise<Refusal> {
  const received = c.env;
  return withBodyText(received, maxBytes, (text) => {
    // Read here (Bun reads no body ahead): the route must find it, not the used-up stream.
    if (received.bodyText === undefined) c.env = { request: received.request, bodyText: text };
    return use(postedStateOf(text));
  });
}
