/**
 * The contract between the HTTP side of server mode (one client session per SSE connection
 * or Streamable HTTP session) and the multiplexer that shares one stdio child among them.
 * @module
 */
import type { ServingLimits } from "../config.ts";
import type { PostHeaders } from "../protocol/http_classify.ts";
import type { Incoming, RequestId, WireMessage } from "../protocol/jsonrpc.ts";

/** The life-cycle state of one stdio server, as `/status` reports it. */
export type ServerState = "starting" | "running" | "restarting" | "failed" | "stopped";

/** Where the multiplexer delivers messages for one client session (its transport). */
export interface ClientSink {
  /**
   * Delivers `message` to the client. `relatedRequestId` is the client's own id of the request
   * the message belongs to (its response, or progress, logging or a server-to-client request
   * issued while it runs), so that Streamable HTTP can put it on that request's stream.
   * `text` is `message` as JSON, when the upstream's own text could be kept: a sink that passes
   * `message` on unchanged may write it instead of serializing `message`. Synchronous: a sink
   * queues what it cannot write at once (a stream's buffer) and throws only if it is broken.
   */
  send(message: WireMessage, relatedRequestId?: RequestId, text?: string): void;
  /**
   * Whether the client's answers to server-to-client requests come back to this session
   * (default true). A stateless Streamable HTTP POST cannot: its answer opens another one.
   */
  readonly answersRequests?: boolean;
}

/** What the transport knows of the client when it opens a session. */
export interface SessionOpening {
  /**
   * The HTTP headers of the request that opened it: `GET /sse`, the `initialize` POST, or
   * the modern request it serves (a server that starts a child per user reads them).
   */
  readonly headers?: PostHeaders;
  /** Whether the session serves one modern (2026-07-28) request, which has no session. */
  readonly modern?: boolean;
  /** Whether it serves one POST to `/mcp` under `--stateless`, which has no session either. */
  readonly stateless?: boolean;
  /**
   * How the call log names the client: `session 1a2b3c4d…` (its session id's first
   * characters) and `api-key #N` (which of the keys it presented), never a secret.
   */
  readonly client?: string;
}

/**
 * Thrown by {@linkcode SharedServer.openSession} when the server will not take this client
 * (a header it needs is missing, no room for another child): the transport answers with
 * `status` and `message`, which says what to do.
 */
export class SessionRefused extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "SessionRefused";
  /** The HTTP status of the refusal. */
  readonly status: 400 | 503;

  /** A refusal with `status`, telling the client `message`. */
  constructor(status: 400 | 503, message: string) {
    super(message);
    this.status = status;
  }
}

/** One client's session with a shared server. */
export interface MuxSession {
  /** Handles a message from the client, sorted at its edge by `classify`. */
  receive(incoming: Incoming): void;
  /** Ends the session: its pending requests are cancelled upstream, its state freed. */
  close(): void;
}

/** One stdio server shared by many client sessions. */
export interface SharedServer {
  /** The server's name (`default` or the NAME under `/servers/`). */
  readonly name: string;
  /** Current state. */
  readonly state: ServerState;
  /** Calls `listener` with each new state; returns the function that stops the calls. */
  onStateChange(listener: (state: ServerState) => void): () => void;
  /** What its clients may hold (request and session timeouts). */
  readonly limits: ServingLimits;
  /** The protocol era the child speaks, once probed. */
  readonly era: "legacy" | "modern" | undefined;
  /**
   * How many children it runs (or starts) now, when it runs one per user or session; absent
   * for a server with one shared child (or none of its own, as the aggregate).
   */
  readonly children?: number;
  /** Starts the child and initialises it; resolves once running, rejects if it cannot start. */
  start(): Promise<void>;
  /**
   * Opens a client session that delivers to `sink`; throws {@linkcode SessionRefused} when
   * it will not take the client `opening` describes.
   */
  openSession(sink: ClientSink, opening?: SessionOpening): MuxSession;
  /** Stops the child: closes stdin, waits, SIGTERM its group, waits, SIGKILL. */
  stop(): Promise<void>;
}
