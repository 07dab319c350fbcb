/**
 * The remote side of client mode: one logical MCP session that outlives its connections.
 *
 * Messages are relayed untouched. The remote only watches a few of them: the client's
 * `initialize` (its params are replayed to a new session), `notifications/initialized`,
 * subscriptions and the logging level (replayed too), and request ids (so that requests lost
 * with a connection get an error instead of hanging); {@linkcode HandshakeReplay} replays them.
 * @module
 */
import { type Logger, sessionIdForLog } from "../../io/log.ts";
import { Backoff, type BackoffOptions, deadline, formatDuration, sleep } from "../../io/async.ts";
import {
  classify,
  describeMessage,
  errorResponse,
  type Incoming,
  type Params,
  ProtocolErrorCode,
  type RequestId,
  requestKey,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import { observed } from "../../core/observe/observed.ts";
import { HandshakeReplay } from "./handshake_replay.ts";
import { WaitingQueue } from "./waiting_queue.ts";
import {
  classifySendError,
  classifyStreamError,
  describeCause,
  ReachabilityReport,
  remoteErrorOf,
  type RemoteTransport,
  sendToRemote,
} from "./legacy_session.ts";

/** Timings of the {@linkcode ReconnectingRemote}, in milliseconds. */
export interface ReconnectTimings {
  /** Reconnection delays: doubled after each failed attempt, reset by a stable connection. */
  backoff: BackoffOptions;
  /** Longest wait for a connection before a queued request gets an error. */
  queueTimeoutMs: number;
  /** Longest time to connect and re-initialise a session. */
  openTimeoutMs: number;
  /** Longest wait at shutdown for sends in progress and the session's termination. */
  shutdownMs: number;
}

/** Default timings. */
export const DEFAULT_TIMINGS: ReconnectTimings = {
  backoff: { initialMs: 200, maxMs: 5_000, stableMs: 10_000 },
  queueTimeoutMs: 30_000,
  openTimeoutMs: 10_000,
  shutdownMs: 2_000,
};

/** What the {@linkcode ReconnectingRemote} needs. */
export interface ReconnectingRemoteOptions {
  /** Makes a new, unstarted transport; called once per session. */
  newTransport: () => RemoteTransport;
  /** Hands a message from the remote server (or an error made here) to the local client. */
  deliver: (message: WireMessage) => void;
  /** Where the remote reports connection changes and dropped messages. */
  log: Logger;
  /** Overrides of {@linkcode DEFAULT_TIMINGS}. */
  timings?: Partial<ReconnectTimings>;
}

/**
 * The connection: being set up (its transport, once made, gets the replayed handshake), open,
 * or closed for good.
 */
type Connection =
  | { readonly kind: "connecting"; readonly transport: RemoteTransport | undefined }
  | { readonly kind: "open"; readonly transport: RemoteTransport; readonly since: number }
  | { readonly kind: "closed" };

/**
 * A legacy remote server reached through a self-healing connection.
 *
 * While no connection is open, messages from the client wait in a queue (requests for at most
 * `queueTimeoutMs`). When a connection is lost, the requests sent on it get a JSON-RPC error at
 * once, and a new session is opened with capped exponential backoff; if the client had
 * initialised, its `initialize` params, `notifications/initialized`, resource subscriptions and
 * logging level are replayed first, and the answers are kept from the client.
 */
export class ReconnectingRemote {
  readonly #newTransport: () => RemoteTransport;
  readonly #deliver: (message: WireMessage) => void;
  readonly #log: Logger;
  readonly #timings: ReconnectTimings;
  readonly #backoff: Backoff;
  /** Why no session could be opened, told once per change rather than once per attempt. */
  readonly #reachability: ReachabilityReport;

  #connection: Connection = { kind: "connecting", transport: undefined };
  /** Client messages waiting for a connection (or for the client's `initialize` answer). */
  readonly #queue = new WaitingQueue();
  /** Requests sent on the current transport and not answered yet. */
  readonly #inFlight = new Map<string, WireMessage & { id: RequestId }>();
  /** The client's `initialize` requests in flight, by id: their params. */
  readonly #initializing = new Map<string, Params>();
  readonly #handshake: HandshakeReplay;
  readonly #sends = new Set<Promise<void>>();
  /** Aborted to cut a reconnection delay short (someone is waiting, or close()). */
  #wake = new AbortController();

  /** A remote that is not connected yet: see {@linkcode start}. */
  constructor(options: ReconnectingRemoteOptions) {
    this.#newTransport = options.newTransport;
    this.#deliver = options.deliver;
    this.#log = options.log;
    this.#timings = { ...DEFAULT_TIMINGS, ...options.timings };
    this.#backoff = new Backoff(this.#timings.backoff);
    this.#reachability = new ReachabilityReport(options.log);
    this.#handshake = new HandshakeReplay(options.log, this.#timings.openTimeoutMs);
  }

  /** Starts connecting in the background. */
  start(): void {
    this.#connectLoop(0);
  }

  /** Relays a message from the client, now or once a connection is open. */
  send(incoming: Incoming): void {
    const connection = this.#connection;
    if (connection.kind === "closed") return;
    // Until `initialize` is answered there is no session (id) to send anything else on.
    if (connection.kind === "open" && this.#initializing.size === 0) {
      return this.#forward(connection.transport, incoming);
    }
    if (connection.kind !== "open" && incoming.kind === "response") {
      // It answers a request of a session that is gone; a new session would not know its id.
      const what = describeMessage(incoming.message);
      this.#log.warning(`Dropped ${what}: the remote session it belongs to is gone.`);
      return;
    }
    this.#queue.push(incoming);
    // Someone is waiting: try now rather than at the end of the backoff delay.
    this.#wake.abort();
  }

  /** Ends the remote session (Streamable HTTP: `DELETE`) after the sends in progress. */
  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = { kind: "closed" };
    this.#wake.abort();
    const { shutdownMs } = this.#timings;
    await deadline(Promise.allSettled([...this.#sends]), shutdownMs, "").catch(() => {});
    if (this.#queue.length > 0) {
      this.#log.warning(
        `${this.#queue.length} message(s) were not delivered: the remote server was unreachable.`,
      );
    }
    const transport = connection.kind === "closed" ? undefined : connection.transport;
    if (!transport) return;
    try {
      const ended = transport.terminateSession?.() ?? Promise.resolve();
      await deadline(ended, shutdownMs, `DELETE took longer than ${shutdownMs} ms`);
    } catch (error) {
      this.#log.warning(`Could not end the remote session: ${describeCause(error)}`);
    }
    this.#discard(transport);
  }

  /** Whether close() was called (a check after an await, where the type cannot tell). */
  #isClosed(): boolean {
    return this.#connection.kind === "closed";
  }

  /** The transport messages are accepted from: the one being set up, or the open one. */
  #current(): RemoteTransport | undefined {
    return this.#connection.kind === "closed" ? undefined : this.#connection.transport;
  }

  /** Connects, after `delayMs`, and again with backoff until a session opens or close(). */
  async #connectLoop(delayMs: number): Promise<void> {
    while (this.#connection.kind === "connecting") {
      if (delayMs > 0) {
        this.#wake = new AbortController();
        await sleep(delayMs, this.#wake.signal);
      }
      if (this.#connection.kind !== "connecting") return;
      try {
        await this.#openSession();
        return;
      } catch (error) {
        if (this.#connection.kind !== "connecting") return;
        delayMs = this.#backoff.next();
        this.#reachability.failed(
          describeCause(error),
          `next attempt in ${formatDuration(delayMs)}`,
        );
        this.#expireQueue();
      }
    }
  }

  async #openSession(): Promise<void> {
    this.#log.debug("Opening a session with the remote server.");
    const transport = this.#newTransport();
    transport.onmessage = (message) => this.#onRemoteMessage(transport, message);
    transport.onerror = (error) => this.#onRemoteError(transport, error);
    this.#connection = { kind: "connecting", transport };
    const replay = this.#handshake.recorded;
    const { openTimeoutMs } = this.#timings;
    try {
      await deadline(
        transport.start(),
        openTimeoutMs,
        `Connecting took longer than ${openTimeoutMs} ms`,
      );
      if (replay) await this.#handshake.replay(transport);
    } catch (error) {
      if (this.#current() === transport) {
        this.#connection = { kind: "connecting", transport: undefined };
        this.#discard(transport);
      }
      throw error;
    }
    // close() came meanwhile: it ends this session.
    if (this.#isClosed()) return;
    if (this.#current() !== transport) throw new Error("the connection broke while it was set up");
    this.#connection = { kind: "open", transport, since: Date.now() };
    this.#log.debug(`Connected to the remote server${sessionOf(transport)}.`);
    if (replay) {
      this.#reachability.clear();
      this.#log.info("Reconnected to the remote server and re-initialised the session.");
      observed.reconnects?.inc();
    } else {
      this.#reachability.reached();
    }
    this.#flush();
  }

  /** Sends what waited, up to and including a client's `initialize` (the rest waits for it). */
  #flush(): void {
    while (this.#connection.kind === "open" && this.#initializing.size === 0) {
      const next = this.#queue.shift();
      if (!next) return;
      this.#forward(this.#connection.transport, next);
    }
  }

  #forward(transport: RemoteTransport, incoming: Incoming): void {
    const message = incoming.message;
    if (incoming.kind === "request") {
      const { id, method } = incoming.message;
      this.#inFlight.set(requestKey(id), incoming.message);
      this.#handshake.state.request(id, method, incoming.params);
      if (method === "initialize") this.#initializing.set(requestKey(id), incoming.params);
    } else if (message.method === "notifications/initialized") {
      this.#handshake.noteInitialized();
    }
    const sending = sendToRemote(transport, message).catch((error) =>
      this.#sendFailed(transport, incoming, error)
    );
    this.#sends.add(sending);
    sending.finally(() => this.#sends.delete(sending));
  }

  #sendFailed(transport: RemoteTransport, incoming: Incoming, error: unknown): void {
    const request = incoming.kind === "request" ? incoming.message : undefined;
    if (request) {
      const key = requestKey(request.id);
      // Already answered with an error: its connection was lost while it was being sent.
      if (!this.#inFlight.delete(key)) return;
      this.#initializing.delete(key);
      this.#handshake.state.response(request.id, false);
    }
    const failure = classifySendError(error);
    if (failure !== "failed" && this.#connection.kind !== "closed") {
      // The server never processed it: send it again on the next session.
      this.#queue.unshift(incoming);
      this.#lose(
        transport,
        failure === "session-gone" ? "the remote session is gone" : describeCause(error),
      );
      // From a transport already replaced, it can go out on the new session at once.
      this.#flush();
      return;
    }
    const what = describeMessage(incoming.message);
    this.#log.warning(`The remote server did not take ${what}: ${describeCause(error)}`);
    const refusal = remoteErrorOf(error);
    if (request && refusal) {
      this.#deliver({ jsonrpc: "2.0", id: request.id, error: refusal });
    } else if (request) {
      this.#deliver(errorResponse(
        request.id,
        ProtocolErrorCode.InternalError,
        `mcp-proxy: the remote server did not take the request: ${describeCause(error)}`,
      ));
    }
    this.#flush();
  }

  #onRemoteMessage(transport: RemoteTransport, value: unknown): void {
    if (transport !== this.#current()) return;
    const incoming = classify(value);
    if (incoming.kind === "invalid") {
      this.#log.warning(`Dropped a message from the remote server: ${incoming.error.message}`);
      return;
    }
    const message = incoming.message;
    const id = incoming.kind === "response" ? incoming.message.id : null;
    if (id === null) return this.#deliver(message);
    const key = requestKey(id);
    if (this.#handshake.answer(key, message)) return;
    this.#inFlight.delete(key);
    this.#handshake.state.response(id, message.result !== undefined);
    this.#deliver(message);
    const params = this.#initializing.get(key);
    if (!params) return;
    this.#initializing.delete(key);
    const version = (message.result as Record<string, unknown> | undefined)?.protocolVersion;
    if (typeof version === "string") {
      this.#handshake.recordInitialize(params, version);
      transport.setProtocolVersion(version);
      this.#log.debug(`The remote server initialised the session${sessionOf(transport)}.`);
    }
    this.#flush();
  }

  #onRemoteError(transport: RemoteTransport, error: Error): void {
    if (transport !== this.#current()) return;
    if (classifyStreamError(error) === "lost") return this.#lose(transport, describeCause(error));
    // Failed sends are reported here too, and again (with their outcome) by #sendFailed.
    this.#log.debug(`Remote transport: ${describeCause(error)}`);
  }

  /** Gives up `transport`: its requests in flight get errors and a new session is opened. */
  #lose(transport: RemoteTransport, reason: string): void {
    const connection = this.#connection;
    if (connection.kind === "closed" || connection.transport !== transport) return;
    this.#connection = { kind: "connecting", transport: undefined };
    this.#discard(transport);
    this.#handshake.abandon(reason);
    const lost = [...this.#inFlight.values()];
    this.#inFlight.clear();
    this.#handshake.state.dropPending();
    this.#initializing.clear();
    for (const request of lost) {
      this.#deliver(errorResponse(
        request.id,
        ProtocolErrorCode.ConnectionClosed,
        `mcp-proxy: the connection to the remote server was lost (${reason}); ` +
          "the request may or may not have been carried out.",
      ));
    }
    // A session being set up fails on its own; its connect loop retries.
    if (connection.kind !== "open") return;
    const failed = lost.length > 0 ? `; ${lost.length} request(s) in flight failed` : "";
    this.#log.warning(`Lost the remote session (${reason})${failed}; reconnecting.`);
    // A connection that keeps breaking right away must not be retried in a tight loop.
    this.#connectLoop(this.#backoff.next(Date.now() - connection.since));
  }

  /** Stops `transport` without hearing from it again. */
  #discard(transport: RemoteTransport): void {
    transport.onmessage = undefined;
    transport.onerror = undefined;
    transport.onclose = undefined;
    transport.close().catch(() => {});
  }

  /** Requests that waited too long for a connection get an error; notifications are dropped. */
  #expireQueue(): void {
    const expired = this.#queue.expire(this.#timings.queueTimeoutMs);
    if (expired.length === 0) return;
    const seconds = Math.round(this.#timings.queueTimeoutMs / 1000);
    this.#log.warning(`${expired.length} message(s) waited ${seconds} s for the remote server.`);
    for (const incoming of expired) {
      if (incoming.kind !== "request") continue;
      this.#deliver(errorResponse(
        incoming.message.id,
        ProtocolErrorCode.RequestTimeout,
        `mcp-proxy: the remote server has been unreachable for ${seconds} s`,
      ));
    }
  }
}

/**
 * ` (session 1a2b3c4d…)` for a transport whose session has an id (Streamable HTTP, once
 * initialised), else nothing: an SSE connection keeps its id in the URL it posts to.
 */
function sessionOf(transport: RemoteTransport): string {
  return transport.sessionId === undefined
    ? ""
    : ` (session ${sessionIdForLog(transport.sessionId)})`;
}
