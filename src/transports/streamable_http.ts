/**
 * The Streamable HTTP endpoint (`/mcp`) of one shared server: the session table and the
 * HTTP method rules of the transport.
 *
 * Our own implementation rather than the SDK's `WebStandardStreamableHTTPServerTransport`:
 * the SDK answers every request with an event stream and validates each message with zod,
 * which cost about twice the CPU of the legacy SSE path per call. Here a call is answered
 * with plain JSON unless something must reach the client before its response
 * (see post_exchange.ts), and messages only get a structure test (see mcp_request.ts).
 * @module
 */
import { mcpTypes } from "../deps.ts";
import { MODERN_PROTOCOL_VERSION } from "../era/envelope.ts";
import { classifyPost, type ModernPost } from "../era/http_classify.ts";
import { ModernBridge } from "../era/modern_bridge.ts";
import { getLogger } from "../log.ts";
import type { SharedServer } from "../relay/types.ts";
import { HttpSession } from "./http_session.ts";
import {
  checkAccept,
  checkProtocolVersion,
  DEFAULT_MAX_BODY_BYTES,
  type PostBody,
  readPost,
  refuse,
} from "./mcp_request.ts";
import { PostExchange } from "./post_exchange.ts";
import { KeepAliveTicker } from "./sse_stream.ts";
import { INVALID_REQUEST, jsonRpcErrorResponse, SESSION_NOT_FOUND } from "./http_error.ts";

const log = getLogger("mcp_proxy.streamable_http");

/** Every protocol version `/mcp` serves: the modern one, then the legacy ones. */
const SUPPORTED_VERSIONS: readonly string[] = [
  MODERN_PROTOCOL_VERSION,
  ...mcpTypes.SUPPORTED_PROTOCOL_VERSIONS,
];

/** Options of a {@linkcode StreamableHttpSessions} table. */
export interface StreamableHttpOptions {
  /** Serve without sessions: one multiplexer session per POST. */
  stateless: boolean;
  /** Largest accepted request body, in bytes (413 above); defaults to 4 MiB. */
  maxBodyBytes?: number;
  /** Keep-alive interval of event streams in milliseconds (0: none); defaults to 15 s. */
  keepAliveMs?: number;
}

/** Whether the POST carries an `initialize` request. */
function hasInitialize(body: PostBody): boolean {
  return body.messages.some((message) => "method" in message && message.method === "initialize");
}

/** Whether the request names a modern protocol version in its header. */
function speaksModern(request: Request): boolean {
  const version = request.headers.get("mcp-protocol-version");
  return version !== null && version.trim() >= MODERN_PROTOCOL_VERSION;
}

function sessionNotFound(): Response {
  return jsonRpcErrorResponse(404, SESSION_NOT_FOUND, "Session not found");
}

/** The Streamable HTTP endpoint (`/mcp`) of one shared server. */
export class StreamableHttpSessions {
  readonly #server: SharedServer;
  readonly #stateless: boolean;
  readonly #maxBodyBytes: number;
  readonly #keepAlive: KeepAliveTicker;
  readonly #sessions = new Map<string, HttpSession>();
  readonly #bridge: ModernBridge;

  /** A table serving `server`. */
  constructor(server: SharedServer, options: StreamableHttpOptions) {
    this.#server = server;
    this.#stateless = options.stateless;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#keepAlive = new KeepAliveTicker(options.keepAliveMs);
    this.#bridge = new ModernBridge(server, {
      log,
      legacyVersion: mcpTypes.LATEST_PROTOCOL_VERSION,
    });
  }

  /** Handles one request to the endpoint. */
  handle(request: Request): Promise<Response> | Response {
    if (this.#stateless) return this.#handleStateless(request);
    const sessionId = request.headers.get("mcp-session-id");
    if (request.method === "POST" && sessionId === null) return this.#sessionless(request);
    if (request.method !== "POST" && request.method !== "GET" && request.method !== "DELETE") {
      return refuse(405, "Method not allowed.", { allow: "GET, POST, DELETE" });
    }
    if (sessionId === null) {
      // The modern era has no GET stream and no session to DELETE.
      if (speaksModern(request)) return refuse(405, "Method not allowed.", { allow: "POST" });
      return refuse(400, "Bad Request: Mcp-Session-Id header is required");
    }
    const session = this.#sessions.get(sessionId);
    if (!session) return sessionNotFound();
    const refusal = checkProtocolVersion(request);
    if (refusal) return refusal;
    switch (request.method) {
      case "POST":
        return this.#post(sessionId, session, request);
      case "GET":
        return checkAccept(request, ["text/event-stream"]) ?? session.openStream();
      default:
        this.#end(sessionId, session);
        return new Response(null, { status: 200 });
    }
  }

  /** Ends every session (shutdown): open streams close, multiplexer sessions end. */
  closeAll(): Promise<void> {
    for (const [id, session] of this.#sessions) this.#end(id, session);
    return Promise.resolve();
  }

  async #post(sessionId: string, session: HttpSession, request: Request): Promise<Response> {
    const body = await readPost(request, this.#maxBodyBytes);
    if (body instanceof Response) return body;
    // The session may have ended while the body was read.
    if (this.#sessions.get(sessionId) !== session) return sessionNotFound();
    return session.post(body);
  }

  /**
   * A POST without a session id: a modern request (served without a session), or a new
   * legacy session if it carries `initialize`, else 400.
   */
  async #sessionless(request: Request): Promise<Response> {
    const body = await readPost(request, this.#maxBodyBytes);
    if (body instanceof Response) return body;
    const era = this.#classify(request, body);
    if (era !== "legacy") return era;
    if (!hasInitialize(body)) {
      return refuse(400, "Bad Request: Mcp-Session-Id header is required");
    }
    if (body.messages.length > 1) {
      return jsonRpcErrorResponse(
        400,
        INVALID_REQUEST,
        "Invalid Request: Only one initialization request is allowed",
      );
    }
    // 122 random bits, printed as visible ASCII.
    const id = crypto.randomUUID();
    const session = new HttpSession(this.#server, {
      id,
      keepAlive: this.#keepAlive,
      closeWhenIdle: false,
    });
    this.#sessions.set(id, session);
    log.debug(`Streamable HTTP session ${id} opened on ${this.#server.name}`);
    return session.post(body);
  }

  /** A modern request's answer, or a refusal by the modern ladder, or `legacy`. */
  #classify(request: Request, body: PostBody): Response | Promise<Response> | "legacy" {
    if (body.batch) return "legacy";
    const era = classifyPost(request.headers, body.messages[0], SUPPORTED_VERSIONS);
    if (era.era === "legacy") return "legacy";
    if (era.era === "refused") {
      return new Response(JSON.stringify(era.body), {
        status: era.status,
        headers: { "content-type": "application/json" },
      });
    }
    return this.#serveModern(era);
  }

  /** Serves one modern request through the bridge; its answer is JSON or an event stream. */
  #serveModern(post: ModernPost): Promise<Response> {
    const exchange = new PostExchange([post.request.id], false, {
      headers: {},
      keepAlive: this.#keepAlive,
      // Deferred: the bridge may answer (discover) before serve() has returned the call.
      onDone: () => queueMicrotask(() => call.close()),
    });
    const call = this.#bridge.serve(post, {
      send: (message) => exchange.deliver(message as never),
    });
    return exchange.response;
  }

  #end(id: string, session: HttpSession): void {
    this.#sessions.delete(id);
    session.close();
    log.debug(`Streamable HTTP session ${id} closed on ${this.#server.name}`);
  }

  /**
   * Stateless: a multiplexer session for this POST alone, ended once every request in it is
   * answered. Without sessions there is no stream for server-initiated messages, so GET and
   * DELETE are refused with 405, as the specification allows.
   */
  async #handleStateless(request: Request): Promise<Response> {
    if (request.method !== "POST") return refuse(405, "Method not allowed.", { allow: "POST" });
    const body = await readPost(request, this.#maxBodyBytes);
    if (body instanceof Response) return body;
    const era = this.#classify(request, body);
    if (era !== "legacy") return era;
    if (!hasInitialize(body)) {
      const refusal = checkProtocolVersion(request);
      if (refusal) return refusal;
    }
    const session = new HttpSession(this.#server, {
      id: undefined,
      keepAlive: this.#keepAlive,
      closeWhenIdle: true,
    });
    return session.post(body);
  }
}
