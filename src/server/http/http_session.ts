/**
 * One Streamable HTTP session (or, stateless, one POST) wired to a multiplexer session:
 * messages tied to a request go to that request's POST answer, the others to the session's
 * GET stream.
 * @module
 */
import type { AbandonWatch } from "./abandon_watch.ts";
import { getLogger } from "../../io/log.ts";
import type { MuxSession, SessionOpening, SharedServer } from "../../core/types.ts";
import { ProtocolErrorCode, type RequestId, type WireMessage } from "../../protocol/jsonrpc.ts";
import { jsonRpcErrorResponse, refuse } from "./http_error.ts";
import type { PostBody } from "./mcp_request.ts";
import { PostExchange } from "./post_exchange.ts";
import { responseWith } from "./response.ts";
import { type KeepAliveTicker, SSE_HEADERS, SseStream } from "./sse_stream.ts";

const log = getLogger("mcp_proxy.streamable_http");

/** The reason of the cancellation sent upstream for a request whose client went away. */
const CLIENT_LEFT = "The client disconnected before the answer";

/** How a session is set up. */
export interface HttpSessionOptions {
  /** The session id, sent back on every answer; `undefined` when stateless. */
  readonly id: string | undefined;
  /** Keep-alive for the session's event streams. */
  readonly keepAlive: KeepAliveTicker;
  /** Stateless: the session closes itself once its one POST is answered. */
  readonly closeWhenIdle: boolean;
  /** Notices clients that leave before their answer. */
  readonly abandonWatch: AbandonWatch;
  /** What the server is told of the client (the headers of its first POST). */
  readonly opening?: SessionOpening;
  /** Called once when the session ends. */
  readonly onClose?: () => void;
}

/** A client session of the Streamable HTTP transport. */
export class HttpSession {
  /** Headers of every answer (the session id). */
  readonly headers: Readonly<Record<string, string>>;
  readonly #options: Omit<HttpSessionOptions, "opening">;
  readonly #mux: MuxSession;
  /** The POST answer awaiting each of the client's request ids. */
  readonly #exchanges = new Map<RequestId, PostExchange>();
  /** The GET stream, for messages tied to no request. */
  #standalone: SseStream | undefined;
  #closed = false;
  /** Whether a POST's messages are being handed to the multiplexer. */
  #receiving = false;
  /** When the client last sent a request (epoch ms). */
  #lastUsed = Date.now();

  /** Opens a multiplexer session on `server`. */
  constructor(server: SharedServer, options: HttpSessionOptions) {
    // The opening is the server's to read now, not the session's to keep: it holds the
    // headers of the request that opened the session (about 0.8 KiB per idle session).
    const { opening, ...kept } = options;
    this.#options = kept;
    this.headers = options.id === undefined ? {} : { "mcp-session-id": options.id };
    this.#mux = server.openSession({
      send: (message, relatedRequestId, text) => this.#route(message, relatedRequestId, text),
      answersRequests: options.id !== undefined,
    }, opening);
  }

  /**
   * Hands a POST's messages to the multiplexer: 202 when none is a request, else the
   * answer (JSON or event stream) once it starts.
   */
  post({ messages, batch }: PostBody, request: Request): Response | Promise<Response> {
    this.#lastUsed = Date.now();
    const ids: RequestId[] = [];
    for (const incoming of messages) {
      if (incoming.kind === "request") ids.push(incoming.message.id);
    }
    if (ids.length === 0) {
      for (const message of messages) this.#mux.receive(message);
      this.#closeIfIdle();
      return responseWith(null, { status: 202 }, this.headers);
    }
    const duplicate = this.#duplicateId(ids);
    if (duplicate !== undefined) {
      // Two requests with one id get answers nobody can tell apart: refuse the whole POST.
      return jsonRpcErrorResponse(
        400,
        ProtocolErrorCode.InvalidRequest,
        `Invalid Request: request id ${JSON.stringify(duplicate)} is already in use`,
        this.headers,
        duplicate,
      );
    }
    const exchange = new PostExchange(ids, batch, {
      headers: this.headers,
      keepAlive: this.#options.keepAlive,
      onDone: () => this.#forget(ids, exchange),
      abandonWatch: this.#options.abandonWatch,
      request,
    });
    // Registered first: the multiplexer may answer at once (ping, initialize).
    for (const id of ids) this.#exchanges.set(id, exchange);
    this.#receiving = true;
    for (const message of messages) this.#mux.receive(message);
    this.#receiving = false;
    this.#closeIfIdle();
    return exchange.response;
  }

  /** Answers a GET with the session's stream for messages tied to no request (409 if open). */
  openStream(): Response {
    this.#lastUsed = Date.now();
    if (this.#standalone?.open) {
      return refuse(409, "Conflict: Only one SSE stream is allowed per session");
    }
    const stream = new SseStream(() => this.#options.keepAlive.remove(stream));
    this.#standalone = stream;
    this.#options.keepAlive.add(stream);
    return new Response(stream.body, { headers: { ...SSE_HEADERS, ...this.headers } });
  }

  /**
   * Whether the client has not used the session since `time` (epoch ms): no request since,
   * none awaiting its answer, no GET stream open.
   */
  unusedSince(time: number): boolean {
    return this.#lastUsed < time && this.#exchanges.size === 0 && !this.#standalone?.open;
  }

  /**
   * Ends the session: the multiplexer session ends, unanswered requests get an error
   * response, streams close.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.onClose?.();
    this.#mux.close();
    for (const exchange of new Set(this.#exchanges.values())) {
      exchange.abort(ProtocolErrorCode.ConnectionClosed, "Session ended");
    }
    if (this.#standalone) {
      this.#options.keepAlive.remove(this.#standalone);
      this.#standalone.close();
    }
  }

  /**
   * A message tied to a request goes to that request's answer, or nowhere once the client
   * has gone (never on the GET stream, which must not carry responses); others go to the
   * GET stream if one is open. `text` is the message's JSON, when known.
   */
  #route(message: WireMessage, relatedRequestId: RequestId | undefined, text?: string): void {
    if (relatedRequestId !== undefined) {
      const exchange = this.#exchanges.get(relatedRequestId);
      if (exchange) return exchange.deliver(message, text);
    } else if (this.#standalone?.open) {
      this.#standalone.send(message, text);
      return;
    }
    log.debug(`Dropped a message for a closed stream: ${JSON.stringify(message).slice(0, 200)}`);
  }

  /** An id that repeats among `ids` or is still awaiting its answer in this session. */
  #duplicateId(ids: readonly RequestId[]): RequestId | undefined {
    // The common POST holds one request: no set for it.
    if (ids.length === 1) return this.#exchanges.has(ids[0]) ? ids[0] : undefined;
    const seen = new Set<RequestId>();
    for (const id of ids) {
      if (seen.has(id) || this.#exchanges.has(id)) return id;
      seen.add(id);
    }
    return undefined;
  }

  /** The exchange is over: its requests still unanswered (the client left) are cancelled. */
  #forget(ids: readonly RequestId[], exchange: PostExchange): void {
    for (const id of ids) {
      if (this.#exchanges.get(id) === exchange) this.#exchanges.delete(id);
    }
    for (const requestId of exchange.pending) {
      const params = { requestId, reason: CLIENT_LEFT };
      const message = { jsonrpc: "2.0" as const, method: "notifications/cancelled", params };
      this.#mux.receive({ kind: "notification", message, params });
    }
    this.#closeIfIdle();
  }

  /** Stateless: closes once nothing is left to answer (not while a POST is being handed on). */
  #closeIfIdle(): void {
    if (this.#options.closeWhenIdle && !this.#receiving && this.#exchanges.size === 0) {
      this.close();
    }
  }
}
