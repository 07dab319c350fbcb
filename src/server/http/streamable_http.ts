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
import { isModernVersion } from "../../protocol/envelope.ts";
import { classifyPost, type LadderRefusal, type ModernPost } from "../../protocol/http_classify.ts";
import { ModernBridge } from "../../core/modern_bridge.ts";
import type { ModernCall } from "../../core/bridge_session.ts";
import { listerThrough, ParamHeaderGuard } from "./param_guard.ts";
import { getLogger, sessionIdForLog } from "../../io/log.ts";
import { clientLabel } from "../guards/api_key.ts";
import { SessionRefused, type SharedServer } from "../../core/types.ts";
import type { ReceivedRequest } from "../../runtime/types.ts";
import { HttpSession } from "./http_session.ts";
import {
  errorResponse,
  isObject,
  LATEST_LEGACY_PROTOCOL_VERSION,
  LEGACY_PROTOCOL_VERSIONS,
  MODERN_PROTOCOL_VERSION,
  ProtocolErrorCode,
} from "../../protocol/jsonrpc.ts";
import { PostExchange } from "./post_exchange.ts";
import { AbandonWatch } from "./abandon_watch.ts";
import { checkAccept, checkProtocolVersion, type PostBody, withPost } from "./mcp_request.ts";
import { KeepAliveTicker } from "./sse_stream.ts";
import { jsonRpcErrorResponse, refuse, sessionNotFound } from "./http_error.ts";
import type { SessionTableOptions } from "./options.ts";

const log = getLogger("mcp_proxy.streamable_http");

/** Every protocol version `/mcp` serves: the modern one, then the legacy ones. */
const SUPPORTED_VERSIONS: readonly string[] = [
  MODERN_PROTOCOL_VERSION,
  ...LEGACY_PROTOCOL_VERSIONS,
];

/**
 * The HTTP status of a modern request answered with these errors (the 2026-07-28
 * transport's rules); any other answer is 200.
 */
const MODERN_ERROR_STATUS: ReadonlyMap<number | undefined, number> = new Map([
  [ProtocolErrorCode.MethodNotFound, 404],
  [ProtocolErrorCode.MissingRequiredClientCapability, 400],
]);

/** Whether the request names a modern protocol version in its header. */
function speaksModern(request: Request): boolean {
  const version = request.headers.get("mcp-protocol-version");
  return version !== null && isModernVersion(version.trim());
}

/** Whether the POST carries an `initialize` request. */
function hasInitialize(body: PostBody): boolean {
  return body.messages.some((incoming) =>
    incoming.kind === "request" && incoming.message.method === "initialize"
  );
}

/** The Streamable HTTP endpoint (`/mcp`) of one shared server. */
export class StreamableHttpSessions {
  readonly #server: SharedServer;
  readonly #stateless: boolean;
  readonly #maxBodyBytes: number;
  readonly #keepAlive: KeepAliveTicker;
  readonly #sessions = new Map<string, HttpSession>();
  /** How long a session may stay unused before it is ended (0: for ever). */
  readonly #sessionIdleMs: number;
  /** Ends unused sessions, while there are sessions. */
  #idleSweep: ReturnType<typeof setInterval> | undefined;
  /** Notices clients that leave before their answer. */
  readonly #abandonWatch = new AbandonWatch();
  /** Serves modern (2026-07-28) requests, which have no session. */
  readonly #bridge: ModernBridge;
  /** Checks the `Mcp-Param-*` headers of modern tool calls against their arguments. */
  readonly #paramHeaders: ParamHeaderGuard;
  /** What session ids start with: this instance's id and a dot, among several; else nothing. */
  readonly #idPrefix: string;
  /** Calls being answered outside a session: modern ones (listen streams aside) and stateless. */
  #callsOutsideSessions = 0;

  /** A table serving `server`. */
  constructor(server: SharedServer, options: SessionTableOptions) {
    this.#server = server;
    this.#stateless = options.stateless ?? false;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#sessionIdleMs = server.limits.sessionIdleMs;
    this.#keepAlive = new KeepAliveTicker(options.keepAliveMs);
    this.#idPrefix = options.instanceId === undefined ? "" : `${options.instanceId}.`;
    this.#bridge = new ModernBridge(server, {
      log,
      legacyVersion: LATEST_LEGACY_PROTOCOL_VERSION,
      supportedVersions: SUPPORTED_VERSIONS,
      sealing: { instanceId: options.instanceId, key: options.stateKey },
    });
    this.#paramHeaders = new ParamHeaderGuard(listerThrough(this.#bridge));
  }

  /** Handles one request to the endpoint. */
  handle(received: ReceivedRequest): Promise<Response> | Response {
    if (this.#stateless) return this.#handleStateless(received);
    const { request } = received;
    const sessionId = request.headers.get("mcp-session-id");
    if (request.method === "POST" && sessionId === null) return this.#sessionless(received);
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
        return this.#post(sessionId, session, received);
      case "GET":
        return checkAccept(request, ["text/event-stream"]) ?? session.openStream();
      default:
        this.#end(sessionId, session);
        return new Response(null, { status: 200 });
    }
  }

  /** Whether the session `id` is open here (a server being replaced serves its own until they end). */
  hasSession(id: string): boolean {
    return this.#sessions.has(id);
  }

  /** How many sessions are open. */
  get openSessions(): number {
    return this.#sessions.size;
  }

  /**
   * How many calls outside sessions are unfinished: modern calls being answered or waiting
   * for their client's input (a `subscriptions/listen` stream is no call), stateless POSTs.
   */
  get callsInFlight(): number {
    return this.#callsOutsideSessions + this.#bridge.parkedCount;
  }

  /** Ends every session (shutdown): open streams close, multiplexer sessions end. */
  closeAll(): Promise<void> {
    for (const [id, session] of this.#sessions) this.#end(id, session);
    this.#abandonWatch.close();
    return Promise.resolve();
  }

  #post(
    sessionId: string,
    session: HttpSession,
    received: ReceivedRequest,
  ): Response | Promise<Response> {
    return withPost(received, this.#maxBodyBytes, (body) =>
      // The session may have ended while the body was read.
      this.#sessions.get(sessionId) === session
        ? session.post(body, received.request)
        : sessionNotFound());
  }

  /** A POST without a session id: parsed, then served by {@linkcode #open}. */
  #sessionless(received: ReceivedRequest): Response | Promise<Response> {
    return withPost(received, this.#maxBodyBytes, (body) => this.#open(received.request, body));
  }

  /**
   * A modern request (served without a session), or a new legacy session if `body` carries
   * `initialize`, else 400.
   */
  #open(request: Request, body: PostBody): Response | Promise<Response> {
    const modern = this.#classify(request, body);
    if (modern) return modern;
    if (!hasInitialize(body)) {
      return refuse(400, "Bad Request: Mcp-Session-Id header is required");
    }
    if (body.messages.length > 1) {
      return jsonRpcErrorResponse(
        400,
        ProtocolErrorCode.InvalidRequest,
        "Invalid Request: Only one initialization request is allowed",
      );
    }
    // 122 random bits, printed as visible ASCII.
    const id = this.#idPrefix + crypto.randomUUID();
    const session = this.#openSession(request, id);
    if (session instanceof Response) return session;
    this.#sessions.set(id, session);
    this.#sweepIdleSessions();
    log.debug(`Streamable HTTP session ${sessionIdForLog(id)} opened on ${this.#server.name}`);
    return session.post(body, request);
  }

  /**
   * The answer to a POST that speaks the modern era (or a refusal by the modern validation
   * ladder); `undefined` for legacy traffic, which goes on to the session logic.
   */
  #classify(request: Request, body: PostBody): Promise<Response> | Response | undefined {
    if (body.batch) return undefined;
    const era = classifyPost(request.headers, body.messages[0].message, SUPPORTED_VERSIONS);
    if (era.era === "legacy") return undefined;
    if (era.era === "refused") return Response.json(era.body, { status: era.status });
    if (era.request.method !== "tools/call") return this.#serveModern(era, request);
    const params = era.request.params as Record<string, unknown>;
    const verdict = this.#paramHeaders.check(request.headers, era.request.id, params);
    const serve = (refusal: LadderRefusal | undefined) =>
      refusal
        ? Response.json(refusal.body, { status: refusal.status })
        : this.#serveModern(era, request);
    return verdict instanceof Promise ? verdict.then(serve) : serve(verdict);
  }

  /** Serves one modern request through the bridge; its answer is JSON or an event stream. */
  #serveModern(post: ModernPost, request: Request): Promise<Response> {
    const counted = post.request.method !== "subscriptions/listen";
    if (counted) this.#callsOutsideSessions++;
    const exchange = new PostExchange([post.request.id], false, {
      headers: {},
      keepAlive: this.#keepAlive,
      onDone: () => {
        if (counted) this.#callsOutsideSessions--;
        // Deferred: the bridge may answer (discover) before serve() has returned the call.
        queueMicrotask(() => call.close());
      },
      abandonWatch: this.#abandonWatch,
      request,
    });
    let call: ModernCall = { close() {} };
    try {
      const client = clientLabel(request, undefined);
      call = this.#bridge.serve(client === undefined ? post : { ...post, client }, {
        send: (message) => {
          exchange.status = MODERN_ERROR_STATUS.get(message.error?.code) ?? 200;
          if (post.request.method === "tools/list" && isObject(message.result)) {
            this.#paramHeaders.learn(message.result);
          }
          exchange.deliver(message);
        },
      });
    } catch (error) {
      if (!(error instanceof SessionRefused)) throw error;
      exchange.status = error.status;
      exchange.deliver(
        errorResponse(post.request.id, ProtocolErrorCode.TransportRefused, error.message),
      );
    }
    return exchange.response;
  }

  /** Starts the sweep that ends sessions unused for the idle time, unless it runs. */
  #sweepIdleSessions(): void {
    if (this.#idleSweep !== undefined || !(this.#sessionIdleMs > 0)) return;
    // A session ends between one and two idle times after its last use (at most a minute more).
    this.#idleSweep = setInterval(() => {
      const unusedSince = Date.now() - this.#sessionIdleMs;
      for (const [id, session] of this.#sessions) {
        if (session.unusedSince(unusedSince)) this.#end(id, session, "unused too long");
      }
    }, Math.min(this.#sessionIdleMs, 60_000));
  }

  #end(id: string, session: HttpSession, why = "closed"): void {
    this.#sessions.delete(id);
    if (this.#sessions.size === 0 && this.#idleSweep !== undefined) {
      clearInterval(this.#idleSweep);
      this.#idleSweep = undefined;
    }
    session.close();
    log.debug(
      `Streamable HTTP session ${sessionIdForLog(id)} ended on ${this.#server.name} (${why})`,
    );
  }

  /**
   * Stateless: a multiplexer session for this POST alone, ended once every request in it is
   * answered. Without sessions there is no stream for server-initiated messages, so GET and
   * DELETE are refused with 405, as the specification allows.
   */
  #handleStateless(received: ReceivedRequest): Response | Promise<Response> {
    const { request } = received;
    if (request.method !== "POST") return refuse(405, "Method not allowed.", { allow: "POST" });
    return withPost(received, this.#maxBodyBytes, (body) => this.#serveOnce(request, body));
  }

  /** A modern request, or a legacy POST on a session of its own. */
  #serveOnce(request: Request, body: PostBody): Response | Promise<Response> {
    const modern = this.#classify(request, body);
    if (modern) return modern;
    if (!hasInitialize(body)) {
      const refusal = checkProtocolVersion(request);
      if (refusal) return refusal;
    }
    const session = this.#openSession(request, undefined);
    if (session instanceof Response) return session;
    return session.post(body, request);
  }

  /**
   * A session with the server for the client of `request` (`id` undefined: stateless, for
   * this POST alone), or the refusal to answer with when the server will not take it.
   */
  #openSession(request: Request, id: string | undefined): HttpSession | Response {
    const stateless = id === undefined;
    try {
      const session = new HttpSession(this.#server, {
        id,
        keepAlive: this.#keepAlive,
        closeWhenIdle: stateless,
        abandonWatch: this.#abandonWatch,
        opening: { headers: request.headers, client: clientLabel(request, id), stateless },
        onClose: stateless ? () => this.#callsOutsideSessions-- : undefined,
      });
      if (stateless) this.#callsOutsideSessions++;
      return session;
    } catch (error) {
      if (error instanceof SessionRefused) return refuse(error.status, error.message);
      throw error;
    }
  }
}
