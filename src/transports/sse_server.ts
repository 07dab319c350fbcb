/**
 * The legacy HTTP+SSE server transport (protocol revision 2024-11-05) on web streams:
 * `GET /sse` opens a stream whose first event names the endpoint to POST messages to, and
 * `POST /messages/?session_id=` delivers one client message per request.
 *
 * The SDK's `SSEServerTransport` needs Node's http objects, hence this small implementation.
 * @module
 */
import type { JSONRPCMessage } from "../deps.ts";
import { getLogger } from "../log.ts";
import type { MuxSession, SharedServer } from "../relay/types.ts";
import {
  INVALID_REQUEST,
  jsonRpcErrorResponse,
  PARSE_ERROR,
  SESSION_NOT_FOUND,
  TRANSPORT_ERROR,
} from "./http_error.ts";

const log = getLogger("mcp_proxy.sse_server");

/** Interval between keep-alive comments on idle streams (as the original's 15 s ping). */
export const SSE_KEEP_ALIVE_MS = 15_000;

/**
 * Bytes a client may leave unread on its stream before it is dropped: a stalled reader must
 * not make the proxy buffer without bound.
 */
export const SSE_MAX_UNREAD_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(": ping\n\n");
const SENT: Promise<void> = Promise.resolve();

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/** Options of a {@linkcode SseSessions} table. */
export interface SseSessionsOptions {
  /** Keep-alive interval in milliseconds; defaults to {@linkcode SSE_KEEP_ALIVE_MS}. */
  keepAliveMs?: number;
  /** Unread bytes before a client is dropped; defaults to {@linkcode SSE_MAX_UNREAD_BYTES}. */
  maxUnreadBytes?: number;
}

/** Counts queued bytes, so that `desiredSize` tells how much the client has left unread. */
const BYTES: QueuingStrategy<Uint8Array> = { highWaterMark: 0, size: (chunk) => chunk.byteLength };

interface SseSession {
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  readonly mux: MuxSession;
  /** Whether anything was written since the last keep-alive tick. */
  active: boolean;
}

/** The session id a POST names: 32 hex digits, hyphens allowed (as Python's `UUID(hex=...)`). */
function normaliseSessionId(value: string): string | undefined {
  const id = value.replaceAll("-", "").toLowerCase();
  return /^[0-9a-f]{32}$/.test(id) ? id : undefined;
}

/** Whether `value` has the shape of a JSON-RPC 2.0 request, notification or response. */
function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  if (message.jsonrpc !== "2.0") return false;
  if (typeof message.method === "string") return true;
  return "id" in message && ("result" in message || "error" in message);
}

const sessionNotFound = () => jsonRpcErrorResponse(404, SESSION_NOT_FOUND, "Session not found");

/** The legacy SSE sessions of one shared server. */
export class SseSessions {
  readonly #server: SharedServer;
  readonly #sessions = new Map<string, SseSession>();
  readonly #keepAliveMs: number;
  readonly #maxUnreadBytes: number;
  #keepAliveTimer: ReturnType<typeof setInterval> | undefined;

  constructor(server: SharedServer, options: SseSessionsOptions = {}) {
    this.#server = server;
    this.#keepAliveMs = options.keepAliveMs ?? SSE_KEEP_ALIVE_MS;
    this.#maxUnreadBytes = options.maxUnreadBytes ?? SSE_MAX_UNREAD_BYTES;
  }

  /**
   * Opens a session and answers with its event stream; `messagesPath` is the path of the
   * POST endpoint announced in the first event (the session id is appended).
   */
  open(messagesPath: string): Response {
    const id = crypto.randomUUID().replaceAll("-", "");
    let session: SseSession | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const mux = this.#server.openSession({
          send: (message) => {
            if (session) {
              this.#write(id, session, `event: message\ndata: ${JSON.stringify(message)}\n\n`);
            }
            return SENT;
          },
        });
        session = { controller, mux, active: true };
        this.#sessions.set(id, session);
        controller.enqueue(
          encoder.encode(`event: endpoint\ndata: ${messagesPath}?session_id=${id}\n\n`),
        );
        this.#armKeepAlive();
      },
      // The client went away.
      cancel: () => this.#end(id, "cancelled"),
    }, BYTES);
    log.debug(`SSE session ${id} opened on ${this.#server.name}`);
    return new Response(body, { headers: SSE_HEADERS });
  }

  /** Answers `HEAD /sse`: the headers of a stream, without opening a session. */
  head(): Response {
    return new Response(null, { headers: SSE_HEADERS });
  }

  /** Handles `POST /messages/?session_id=<sessionId>` with `request`'s body. */
  async post(sessionId: string | undefined, request: Request): Promise<Response> {
    if (!sessionId) {
      return jsonRpcErrorResponse(400, TRANSPORT_ERROR, "Bad Request: session_id is required");
    }
    const id = normaliseSessionId(sessionId);
    if (!id) return jsonRpcErrorResponse(400, TRANSPORT_ERROR, "Bad Request: invalid session_id");
    const session = this.#sessions.get(id);
    if (!session) return sessionNotFound();
    let message: unknown;
    try {
      message = await request.json();
    } catch {
      return jsonRpcErrorResponse(400, PARSE_ERROR, "Parse error: Invalid JSON");
    }
    if (!isJsonRpcMessage(message)) {
      return jsonRpcErrorResponse(400, INVALID_REQUEST, "Invalid Request: not a JSON-RPC message");
    }
    // The stream may have closed while the body was read.
    if (!this.#sessions.has(id)) return sessionNotFound();
    session.mux.receive(message);
    return new Response("Accepted", {
      status: 202,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }

  /** Ends every session and closes its stream (shutdown). */
  closeAll(): void {
    for (const id of [...this.#sessions.keys()]) this.#end(id, "close");
  }

  #write(id: string, session: SseSession, event: string): void {
    if (!this.#sessions.has(id)) return;
    const { controller } = session;
    if ((controller.desiredSize ?? 0) < -this.#maxUnreadBytes) {
      log.warning(`SSE session ${id}: client is not reading its stream; dropping it`);
      this.#end(id, "error");
      return;
    }
    session.active = true;
    controller.enqueue(encoder.encode(event));
  }

  /**
   * Ends a session. Its stream was `cancelled` by the client, or is closed after what is
   * queued (`close`), or is errored at once, dropping unread data (`error`).
   */
  #end(id: string, stream: "cancelled" | "close" | "error"): void {
    const session = this.#sessions.get(id);
    if (!session) return;
    this.#sessions.delete(id);
    session.mux.close();
    try {
      if (stream === "close") session.controller.close();
      if (stream === "error") session.controller.error(new Error("client not reading"));
    } catch {
      // Already closed or errored.
    }
    if (this.#sessions.size === 0) this.#disarmKeepAlive();
    log.debug(`SSE session ${id} closed on ${this.#server.name}`);
  }

  /** One timer for the whole table: it writes a comment on streams idle since the last tick. */
  #armKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined || !(this.#keepAliveMs > 0)) return;
    this.#keepAliveTimer = setInterval(() => {
      for (const [id, session] of this.#sessions) {
        if (session.active) {
          session.active = false;
        } else {
          try {
            session.controller.enqueue(KEEP_ALIVE);
          } catch {
            this.#end(id, "cancelled");
          }
        }
      }
    }, this.#keepAliveMs);
  }

  #disarmKeepAlive(): void {
    clearInterval(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
  }
}
