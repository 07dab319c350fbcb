/**
 * The legacy HTTP+SSE server transport (protocol revision 2024-11-05) on web streams:
 * `GET /sse` opens a stream whose first event names the endpoint to POST messages to, and
 * `POST /messages/?session_id=` delivers one client message per request.
 *
 * The SDK's `SSEServerTransport` needs Node's http objects, hence this small implementation.
 * @module
 */
import { getLogger, sessionIdForLog } from "../../io/log.ts";
import { clientLabel } from "../guards/api_key.ts";
import { type MuxSession, SessionRefused, type SharedServer } from "../../core/types.ts";
import { errorResponse, ProtocolErrorCode, type RequestId } from "../../protocol/jsonrpc.ts";
import type { ReceivedRequest } from "../../runtime/types.ts";
import { refuse, sessionNotFound } from "./http_error.ts";
import { classifyPosted, withJsonBody } from "./mcp_request.ts";
import type { SessionTableOptions } from "./options.ts";
import {
  KeepAliveTicker,
  SSE_HEADERS,
  SSE_KEEP_ALIVE_MS,
  SSE_MAX_UNREAD_BYTES,
  type SseEndReason,
  SseStream,
} from "./sse_stream.ts";

const log = getLogger("mcp_proxy.sse_server");

interface SseSession {
  readonly stream: SseStream;
  readonly mux: MuxSession;
  /**
   * The ids of the client's requests not yet answered or cancelled: at shutdown each gets an
   * error event before the stream closes, as a call on `/mcp` does, not only the stream's end.
   */
  readonly unanswered: Set<RequestId>;
}

/** The session id a POST names: 32 hex digits, hyphens allowed (as Python's `UUID(hex=...)`). */
function normaliseSessionId(value: string): string | undefined {
  const id = value.replaceAll("-", "").toLowerCase();
  return /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}

/** The legacy SSE sessions of one shared server. */
export class SseSessions {
  readonly #server: SharedServer;
  readonly #sessions = new Map<string, SseSession>();
  readonly #ticker: KeepAliveTicker;
  readonly #maxUnreadBytes: number;
  readonly #maxBodyBytes: number;
  /** What the endpoint URL adds after the session id: the instance that holds the session. */
  readonly #endpointSuffix: string;

  /** The table of `server`'s SSE sessions. */
  constructor(server: SharedServer, options: SessionTableOptions) {
    this.#server = server;
    this.#maxBodyBytes = options.maxBodyBytes;
    this.#ticker = new KeepAliveTicker(options.keepAliveMs ?? SSE_KEEP_ALIVE_MS);
    this.#maxUnreadBytes = options.maxUnreadBytes ?? SSE_MAX_UNREAD_BYTES;
    this.#endpointSuffix = options.instanceId === undefined
      ? ""
      : `&instance=${options.instanceId}`;
  }

  /**
   * Opens a session and answers with its event stream; `messagesPath` is the path of the
   * POST endpoint announced in the first event (the session id is appended, and the
   * instance's id when there are several), `request` the `GET` that opens it.
   */
  open(messagesPath: string, request: Request): Response {
    const id = crypto.randomUUID().replaceAll("-", "");
    const stream = new SseStream((reason) => this.#end(id, reason), this.#maxUnreadBytes);
    const unanswered = new Set<RequestId>();
    let mux: MuxSession;
    try {
      mux = this.#server.openSession({
        send: (message, _relatedRequestId, text) => {
          if (message.method === undefined && message.id !== undefined) {
            unanswered.delete(message.id as RequestId);
          }
          return stream.send(message, text);
        },
      }, { headers: request.headers, client: clientLabel(request, id) });
    } catch (error) {
      stream.close();
      if (error instanceof SessionRefused) return refuse(error.status, error.message);
      throw error;
    }
    this.#sessions.set(id, { stream, mux, unanswered });
    stream.event("endpoint", `${messagesPath}?session_id=${id}${this.#endpointSuffix}`);
    this.#ticker.add(stream);
    log.debug(`SSE session ${sessionIdForLog(id)} opened on ${this.#server.name}`);
    return new Response(stream.body, { headers: SSE_HEADERS });
  }

  /** How many `/sse` streams are open (one per session). */
  get openStreams(): number {
    return this.#sessions.size;
  }

  /** How many of the clients' requests are still unanswered, over all sessions. */
  get callsInFlight(): number {
    let calls = 0;
    for (const { unanswered } of this.#sessions.values()) calls += unanswered.size;
    return calls;
  }

  /** Whether the session `sessionId` (as a client sends it) is open here. */
  hasSession(sessionId: string): boolean {
    const id = this.#sessions.has(sessionId) ? sessionId : normaliseSessionId(sessionId);
    return id !== undefined && this.#sessions.has(id);
  }

  /** Answers `HEAD /sse`: the headers of a stream, without opening a session. */
  head(): Response {
    return new Response(null, { headers: SSE_HEADERS });
  }

  /** Handles `POST /messages/?session_id=<sessionId>`, the request `received`. */
  post(sessionId: string | undefined, received: ReceivedRequest): Response | Promise<Response> {
    if (!sessionId) return refuse(400, "Bad Request: session_id is required");
    // The id as this proxy wrote it is the common case: looked up before any normalising.
    const id = this.#sessions.has(sessionId) ? sessionId : normaliseSessionId(sessionId);
    if (!id) return refuse(400, "Bad Request: invalid session_id");
    const session = this.#sessions.get(id);
    if (!session) return sessionNotFound();
    return withJsonBody(received, this.#maxBodyBytes, (value, text) => {
      const incoming = classifyPosted(value, text);
      if (incoming instanceof Response) return incoming;
      // The stream may have closed while the body was read.
      if (!this.#sessions.has(id)) return sessionNotFound();
      if (incoming.kind === "request") session.unanswered.add(incoming.message.id);
      else if (
        incoming.kind === "notification" && incoming.message.method === "notifications/cancelled"
      ) {
        session.unanswered.delete(incoming.params.requestId as RequestId);
      }
      session.mux.receive(incoming);
      return new Response("Accepted", {
        status: 202,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    });
  }

  /**
   * Ends every session (shutdown): each request still unanswered gets a JSON-RPC error event,
   * then the stream closes.
   */
  closeAll(): void {
    for (const [id, { stream, unanswered }] of [...this.#sessions]) {
      for (const requestId of unanswered) {
        stream.send(errorResponse(requestId, ProtocolErrorCode.ConnectionClosed, "Session ended"));
      }
      stream.close();
      this.#end(id, "closed");
    }
  }

  /** Ends a session whose stream was cancelled by the client, dropped, or closed by us. */
  #end(id: string, reason: SseEndReason | "closed"): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#sessions.delete(id);
    session.mux.close();
    this.#ticker.remove(session.stream);
    if (reason === "dropped") {
      log.warning(
        `SSE session ${sessionIdForLog(id)}: client is not reading its stream; dropping it`,
      );
    }
    log.debug(`SSE session ${sessionIdForLog(id)} closed on ${this.#server.name}`);
  }
}
