/**
 * Streamable HTTP sessions of one shared server: a table of the SDK's
 * `WebStandardStreamableHTTPServerTransport`, one per session (or one per request when
 * stateless), each wired to a multiplexer session.
 * @module
 */
import {
  type JSONRPCMessage,
  type RequestId,
  WebStandardStreamableHTTPServerTransport,
} from "../deps.ts";
import { getLogger } from "../log.ts";
import type { ClientSink, MuxSession, SharedServer } from "../relay/types.ts";

const log = getLogger("mcp_proxy.streamable_http");

/** Options of a {@linkcode StreamableHttpSessions} table. */
export interface StreamableHttpOptions {
  /** Serve without sessions: one transport and one multiplexer session per request. */
  stateless: boolean;
  /** Largest accepted request body, in bytes (413 above). */
  maxBodyBytes: number;
}

function jsonRpcError(
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function isRequest(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return "method" in message && "id" in message;
}

function isResponse(message: JSONRPCMessage): boolean {
  return !("method" in message);
}

/** A sink that puts each message on the stream of the request it belongs to. */
function sinkFor(transport: WebStandardStreamableHTTPServerTransport): ClientSink {
  return {
    send: (message, relatedRequestId) =>
      transport.send(
        message,
        relatedRequestId === undefined ? undefined : { relatedRequestId },
      ).catch((error: Error) =>
        // The client closed the request's stream (or never opened a GET stream).
        log.debug(`Dropped a message for a closed stream: ${error.message}`)
      ),
  };
}

/** The Streamable HTTP endpoint (`/mcp`) of one shared server. */
export class StreamableHttpSessions {
  readonly #server: SharedServer;
  readonly #options: StreamableHttpOptions;
  readonly #sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();

  constructor(server: SharedServer, options: StreamableHttpOptions) {
    this.#server = server;
    this.#options = options;
  }

  /** Handles one request to the endpoint. */
  handle(request: Request): Promise<Response> {
    if (this.#options.stateless) return this.#handleStateless(request);
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId !== null) {
      const transport = this.#sessions.get(sessionId);
      return transport
        ? transport.handleRequest(request)
        : Promise.resolve(jsonRpcError(404, -32001, "Session not found"));
    }
    if (request.method !== "POST") {
      return Promise.resolve(
        jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required"),
      );
    }
    return this.#initialize(request);
  }

  /** Ends every session (shutdown): open streams close, multiplexer sessions end. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((transport) => transport.close()));
  }

  /** A POST without a session id: a new session if it carries `initialize`, else 400. */
  async #initialize(request: Request): Promise<Response> {
    let mux: MuxSession | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      maxRequestBodySize: this.#options.maxBodyBytes,
      onsessioninitialized: (id) => {
        mux = this.#server.openSession(sinkFor(transport));
        this.#sessions.set(id, transport);
        log.debug(`Streamable HTTP session ${id} opened on ${this.#server.name}`);
      },
    });
    transport.onmessage = (message) => mux?.receive(message);
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && this.#sessions.get(id) === transport) {
        this.#sessions.delete(id);
        log.debug(`Streamable HTTP session ${id} closed on ${this.#server.name}`);
      }
      mux?.close();
    };
    const response = await transport.handleRequest(request);
    // Not an initialize request: nothing was opened, the SDK has answered with an error.
    if (!mux) await transport.close();
    return response;
  }

  /**
   * Stateless: a fresh transport and multiplexer session for this POST, ended once every
   * request in it is answered. Without sessions there is no stream for server-initiated
   * messages, so GET and DELETE are refused with 405, as the specification allows.
   */
  async #handleStateless(request: Request): Promise<Response> {
    if (request.method !== "POST") {
      return jsonRpcError(405, -32000, "Method not allowed.", { allow: "POST" });
    }
    const transport = new WebStandardStreamableHTTPServerTransport({
      maxRequestBodySize: this.#options.maxBodyBytes,
    });
    const pending = new Set<RequestId>();
    let handled = false;
    let ended = false;
    const finishIfDone = () => {
      if (ended || !handled || pending.size > 0) return;
      ended = true;
      mux.close();
      transport.close();
    };
    const sink = sinkFor(transport);
    const mux = this.#server.openSession({
      send: async (message, relatedRequestId) => {
        await sink.send(message, relatedRequestId);
        if (isResponse(message) && pending.delete((message as { id: RequestId }).id)) {
          finishIfDone();
        }
      },
    });
    transport.onmessage = (message) => {
      if (isRequest(message)) pending.add(message.id);
      mux.receive(message);
    };
    try {
      return await transport.handleRequest(request);
    } finally {
      handled = true;
      finishIfDone();
    }
  }
}
