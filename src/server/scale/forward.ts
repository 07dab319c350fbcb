/**
 * Forwarding to the instance that holds a session (`--peer-url`): behind a load balancer
 * without sticky sessions, a request may reach an instance other than the one that holds its
 * Streamable HTTP session, SSE session or parked multi round-trip call. The request names
 * that instance (the session id's prefix, the `instance` parameter of `/messages/`, the
 * request state's prefix), and is passed on to it with `fetch`; its answer, event streams
 * included, streams back unchanged.
 *
 * A request is forwarded at most once: one that an instance forwarded already and that names
 * yet another gets the answer of a lost session, as does one whose instance cannot be reached.
 * @module
 */
import type { Context } from "../../deps.ts";
import type { Check } from "../guards/check.ts";
import { getLogger, urlForLog } from "../../io/log.ts";
import { errorResponse, ProtocolErrorCode } from "../../protocol/jsonrpc.ts";
import { credentialOf, RequestStateSealer, stateInstance } from "../../protocol/request_state.ts";
import { INVALID_REQUEST_STATE } from "../../core/modern_bridge.ts";
import { runtime } from "../../runtime/mod.ts";
import { withEnd } from "../../runtime/stream_end.ts";
import { sessionNotFound } from "../http/http_error.ts";
import {
  FORWARDED_BY_HEADER,
  isSessionlessPost,
  type McpRoute,
  namedInstance,
  type PostedState,
  type ReceivedEnv,
  withPostedState,
} from "./posted_state.ts";

const log = getLogger("mcp_proxy.scale_out");

/** How often at most an unreachable instance is logged as a warning (the rest at DEBUG). */
const WARNING_INTERVAL_MS = 10_000;

/**
 * How long a peer has to accept a connection; past it, the request gets the answer of a lost
 * session rather than wait for the system's connect timeout (minutes on Linux).
 */
export const PEER_CONNECT_TIMEOUT_MS = 3_000;

/** How long a peer that answered is taken to be reachable without connecting to it first. */
const PEER_ANSWERED_MS = 10_000;

/**
 * Which peers answered lately: a request for one of them is forwarded at once; for any other,
 * a connection is opened first, so that an address that drops packets costs its client
 * {@linkcode PEER_CONNECT_TIMEOUT_MS}, not minutes. Only peers that answered are kept.
 */
class PeerReachability {
  /** When each peer (by origin) last answered. */
  readonly #answeredAt = new Map<string, number>();

  /**
   * Why the peer at `url` cannot be reached, or `undefined` when it answered lately or accepts
   * a connection now.
   */
  async problem(url: URL): Promise<string | undefined> {
    const answeredAt = this.#answeredAt.get(url.origin);
    if (answeredAt !== undefined && Date.now() - answeredAt < PEER_ANSWERED_MS) return undefined;
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    // `[::1]` in a URL, `::1` to connect to.
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
    return await runtime.connectionProblem(hostname, port, PEER_CONNECT_TIMEOUT_MS);
  }

  /** The peer at `url` answered. */
  answered(url: URL): void {
    this.#answeredAt.set(url.origin, Date.now());
  }

  /** The peer at `url` could not be reached. */
  failed(url: URL): void {
    this.#answeredAt.delete(url.origin);
  }
}

/**
 * Headers of one connection, not of the exchange (RFC 9110 §7.6.1), and those `fetch` sets
 * itself for the connection it opens.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/**
 * The calls (POSTs) this instance is forwarding and answering now, for the drain: it waits
 * for them as for its own calls. Event streams a client opened with a GET are not calls:
 * they last as long as the client wants, and its client opens them again elsewhere.
 */
export class ForwardedCalls {
  #open = 0;

  /** How many are still unanswered (their answer not read to its end). */
  get open(): number {
    return this.#open;
  }

  /** The body of an answer, counted until it has been read to its end, failed or was cancelled. */
  track(body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
    if (body === null) return null;
    this.#open++;
    return withEnd(body, () => this.#open--);
  }
}

/** How an instance finds its peers. */
export interface PeerForwarding {
  /** This instance's id. */
  readonly instanceId: string;
  /** Where an instance is, `{instance}` standing for its id. */
  readonly peerUrl: string;
  /** The key every instance seals request states with; absent: states are forwarded unchecked. */
  readonly stateKey?: string;
  /** Largest request body read to find a request state (the route's own limit). */
  readonly maxBodyBytes: number;
  /**
   * Whether the server of the request seals the request states its clients present: a modern
   * child's states are its own, whatever they look like, and are never forwarded.
   */
  readonly sealsStates: (c: Context<ReceivedEnv>) => boolean;
  /** Counts the calls forwarded and not yet answered. */
  readonly calls: ForwardedCalls;
}

/** The headers of `headers` that are not hop-by-hop, named or listed in `Connection`. */
function endToEnd(headers: Headers): Headers {
  const listed = headers.get("connection")?.toLowerCase().split(",").map((name) => name.trim());
  const kept = new Headers();
  for (const [name, value] of headers) {
    if (!HOP_BY_HOP.has(name) && !listed?.includes(name)) kept.append(name, value);
  }
  return kept;
}

/** `url` for the log: without credentials or query, if it is a URL at all. */
function shownUrl(url: string): string {
  try {
    return urlForLog(url);
  } catch {
    return "not a valid URL";
  }
}

/** The answer a retry gets whose request state names an instance that is gone. */
function lostState({ id }: PostedState): Response {
  return Response.json(errorResponse(id, ProtocolErrorCode.InvalidParams, INVALID_REQUEST_STATE));
}

/**
 * The check of one of a server's MCP routes that forwards the requests naming another
 * instance; `undefined` for a route whose requests never do (`GET /sse` opens a session here).
 */
export function peerForwarder(
  options: PeerForwarding,
  route: McpRoute,
): Check<ReceivedEnv> | undefined {
  if (route === "sse") return undefined;
  const self = options.instanceId;
  const sealer = options.stateKey === undefined
    ? undefined
    : new RequestStateSealer(Date.now, { key: options.stateKey });
  let warnAfter = 0;
  const peers = new PeerReachability();

  const forward = async (
    request: Request,
    instance: string,
    body: string | undefined,
    lost: () => Response,
  ): Promise<Response> => {
    if (request.headers.has(FORWARDED_BY_HEADER)) return lost();
    const { pathname, search } = new URL(request.url);
    const url = options.peerUrl.replace("{instance}", instance).replace(/\/$/, "") + pathname +
      search;
    const headers = endToEnd(request.headers);
    headers.set(FORWARDED_BY_HEADER, self);
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const init = {
      method: request.method,
      headers,
      body: hasBody ? body ?? request.body : undefined,
      // A request body as a stream needs it; a text one ignores it.
      duplex: "half",
      redirect: "manual",
      // The client went away: so does the exchange with the peer (and its event stream).
      signal: request.signal,
    } as RequestInit;
    const unreachable = (why: string) => {
      const line = `Could not forward ${request.method} ${pathname} to instance '${instance}' ` +
        `(${shownUrl(url)}): ${why}`;
      if (Date.now() >= warnAfter && !request.signal.aborted) {
        warnAfter = Date.now() + WARNING_INTERVAL_MS;
        log.warning(line);
      } else {
        log.debug(line);
      }
      return lost();
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return unreachable("not a valid URL");
    }
    const problem = await peers.problem(target);
    if (problem !== undefined) return unreachable(problem);
    let answer: Response;
    try {
      answer = await fetch(url, init);
    } catch (error) {
      peers.failed(target);
      return unreachable((error as Error).message);
    }
    peers.answered(target);
    log.debug(`Forwarded ${request.method} ${pathname} to instance '${instance}'`);
    return new Response(
      request.method === "POST" ? options.calls.track(answer.body) : answer.body,
      {
        status: answer.status,
        statusText: answer.statusText,
        headers: endToEnd(answer.headers),
      },
    );
  };

  /** Forwards a retry whose state another instance sealed (and that opens, with a shared key). */
  const forwardState = async (
    request: Request,
    body: string | undefined,
    posted: PostedState,
  ): Promise<Response | undefined> => {
    const instance = posted.state === undefined ? undefined : stateInstance(posted.state);
    if (instance === undefined || instance === self) return undefined;
    if (sealer && !await sealer.open(posted.state!, credentialOf(request.headers), instance)) {
      return lostState(posted);
    }
    return forward(request, instance, body, () => lostState(posted));
  };

  return (c) => {
    const request = c.env.request;
    const instance = route === "messages"
      ? namedInstance(c.req.query("instance"), false)
      : namedInstance(request.headers.get("mcp-session-id"), true);
    if (instance !== undefined) {
      return instance === self
        ? undefined
        : forward(request, instance, c.env.bodyText, sessionNotFound);
    }
    if (route === "messages" || request.headers.has("mcp-session-id")) return undefined;
    if (!isSessionlessPost(c, route) || !options.sealsStates(c)) return undefined;
    return withPostedState(
      c,
      options.maxBodyBytes,
      (posted) => forwardState(request, c.env.bodyText, posted),
    );
  };
}
