/**
 * The multiplexer: many client sessions sharing one upstream MCP server.
 *
 * Client request ids (and progress tokens) are replaced by proxy-unique numbers on the way
 * up and restored on the way back, so sessions that reuse the same ids never see each other's
 * traffic. The upstream's `initialize` result is cached and answers every client's
 * `initialize`; resource subscriptions and the logging level are kept per session and applied
 * upstream once, and again after a restart.
 *
 * A server-to-client request (sampling, elicitation, roots) goes to the session whose request
 * caused it, or is refused to the upstream; it never goes to a guess. A legacy stdio server
 * does not say which request caused it, so the multiplexer makes that knowable: once the
 * upstream has asked a client anything, requests that may ask (see {@linkcode mayAskClient})
 * reach it from one session at a time, and the session holding that turn is the one asked.
 * @module
 */
import type { Logger } from "../io/log.ts";
import {
  errorResponse,
  type Incoming,
  type IncomingNotification,
  type IncomingRequest,
  type IncomingResponse,
  type Params,
  ProtocolErrorCode,
  type RequestId,
  type RequestMessage,
  resultResponse,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import { readsOneWay, withId } from "../protocol/wire_text.ts";
import {
  ChildHandshake,
  type ClientHandshake,
  clientHandshake,
  type SessionContext,
} from "../protocol/handshake.ts";
import { admits, levelRank, UpstreamLogLevel } from "../protocol/log_levels.ts";
import { SESSION_SUBSCRIPTIONS_FULL, Subscriptions } from "./subscriptions.ts";
import { Turns } from "./turns.ts";
import type { ClientSink, MuxSession } from "./types.ts";

/** Where the multiplexer writes messages for the upstream server. */
export interface Upstream {
  /**
   * Writes one message to the server: a client's, forwarded for `session`, or the proxy's own
   * (`session` undefined). `text` is `message` as JSON, when the client's own text could be
   * kept: an upstream that writes `message` unchanged may write it instead.
   */
  send(message: WireMessage, session?: SessionContext, text?: string): void;
}

/** The upstream's answer to a request the proxy made itself. */
export type InternalResult = Record<string, unknown>;

/** A client message that waits for the upstream to open. */
interface Queued {
  readonly session: Session;
  readonly incoming: IncomingRequest | IncomingNotification;
}

/**
 * Where client traffic goes: it waits (queued) for the upstream to open, is refused with a
 * reason, or flows to the open upstream. An attached upstream that is not open yet only gets
 * the proxy's own requests (its handshake), and responses to its own requests.
 */
type Link =
  | { readonly kind: "waiting"; readonly upstream: Upstream | undefined; readonly queue: Queued[] }
  | { readonly kind: "refusing"; readonly upstream: Upstream | undefined; readonly reason: string }
  | { readonly kind: "open"; readonly upstream: Upstream; readonly child: ChildHandshake };

class Session implements SessionContext {
  readonly id: number;
  readonly sink: ClientSink;
  /** This session's requests awaiting a response, oldest first: client id to upstream id. */
  readonly inFlight = new Map<RequestId, number>();
  handshake: ClientHandshake | undefined;
  logLevel: string | undefined;
  /** Whether its `initialize` was answered: before that, no broadcast may reach it. */
  initialized = false;
  closed = false;

  constructor(id: number, sink: ClientSink) {
    this.id = id;
    this.sink = sink;
  }
}

interface PendingRequest {
  /** The client session that asked, or `undefined` for the proxy's own requests. */
  session: Session | undefined;
  /** The client's id for the request. */
  clientId: RequestId;
  /** The client's progress token, which was replaced by the upstream id. */
  progressToken: unknown;
  /** Called with the upstream's response, or `undefined` when none will be relayed. */
  onSettled: ((response: WireMessage | undefined) => void) | undefined;
  /**
   * When a client's request has waited too long (`performance.now()` time; see
   * {@linkcode MultiplexerOptions}); `Infinity` for requests without a limit.
   */
  deadline: number;
  /** Whether its handler may ask the client something (see {@linkcode Turns}). */
  asks: boolean;
}

/** Tuning of a {@linkcode Multiplexer}. */
export interface MultiplexerOptions {
  /**
   * Longest a client's request waits for the upstream's answer, in ms (0 or absent: no limit);
   * then the client gets an error and the upstream a cancellation.
   */
  readonly requestTimeoutMs?: number;
  /**
   * How long a session's turn waits while all its calls wait on its client's answers, in ms
   * (default `TURN_PATIENCE_MS`); see {@linkcode Turns}.
   */
  readonly turnPatienceMs?: number;
}

/** How often requests are checked against their deadline: a tenth of the limit, 10 ms to 1 s. */
function sweepIntervalMs(requestTimeoutMs: number): number {
  return Math.min(1_000, Math.max(10, requestTimeoutMs / 10));
}

interface ServerRequest {
  /** The upstream's id for its request. */
  upstreamId: RequestId;
  session: Session;
}

/** Routes messages between client sessions and one upstream server. */
export class Multiplexer {
  readonly #name: string;
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  #link: Link = { kind: "waiting", upstream: undefined, queue: [] };
  #nextId = 0;
  #nextSession = 0;
  /** Requests in flight by upstream id, in the order they were sent (hence of deadline). */
  readonly #pending = new Map<number, PendingRequest>();
  /**
   * Checks deadlines while requests with one are in flight: one timer for them all, because
   * a timer per request costs more than relaying it.
   */
  #deadlineSweep: ReturnType<typeof setInterval> | undefined;
  /** Server-to-client requests in flight, by the id the client sees. */
  readonly #serverRequests = new Map<number, ServerRequest>();
  readonly #sessions = new Set<Session>();
  /** Sessions with requests in flight. */
  readonly #busy = new Set<Session>();
  /** Whose turn it is to send calls that may ask, once the upstream has asked a client. */
  readonly #turns: Turns<Session>;
  readonly #subscriptions = new Subscriptions<Session>();
  readonly #logLevel = new UpstreamLogLevel();

  /** A multiplexer for the server called `name`; client traffic is queued until {@linkcode open}. */
  constructor(name: string, log: Logger, options: MultiplexerOptions = {}) {
    this.#name = name;
    this.#log = log;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.#turns = new Turns<Session>({
      admit: (session, incoming) => {
        const link = this.#link;
        if (link.kind === "open") this.#forward(session, incoming, link.upstream);
        else this.#holdOrRefuse(session, incoming);
      },
      cancelWaiting: (session, waitedMs) => this.#cancelWaitingCalls(session, waitedMs),
    }, options.turnPatienceMs);
  }

  /** Opens a client session that delivers to `sink`. */
  openSession(sink: ClientSink): MuxSession {
    const session = new Session(++this.#nextSession, sink);
    this.#sessions.add(session);
    return {
      receive: (incoming) => this.#fromClient(session, incoming),
      close: () => this.#closeSession(session),
    };
  }

  /** Connects a new upstream; only the proxy's own requests reach it until {@linkcode open}. */
  attach(upstream: Upstream): void {
    const link = this.#link;
    this.#link = link.kind === "open"
      ? { kind: "waiting", upstream, queue: [] }
      : { ...link, upstream };
  }

  /** Sends a request of the proxy's own upstream; resolves with its result. */
  request(method: string, params?: Params): Promise<InternalResult> {
    const { promise, resolve, reject } = Promise.withResolvers<InternalResult>();
    const upstream = this.#link.upstream;
    if (!upstream) {
      reject(new Error(`MCP server '${this.#name}' is not running`));
      return promise;
    }
    const id = ++this.#nextId;
    this.#pending.set(id, {
      session: undefined,
      clientId: id,
      progressToken: undefined,
      deadline: Infinity,
      asks: false,
      onSettled: (response) => {
        if (response === undefined) reject(new Error(`MCP server '${this.#name}' exited`));
        else if (response.error) reject(new Error(`${method} failed: ${response.error.message}`));
        else resolve((response.result ?? {}) as InternalResult);
      },
    });
    upstream.send({ jsonrpc: "2.0", id, method, params });
    return promise;
  }

  /** Sends a notification of the proxy's own upstream. */
  notify(method: string, params?: Params): void {
    this.#link.upstream?.send({ jsonrpc: "2.0", method, params });
  }

  /**
   * Lets client traffic flow to the attached, initialised upstream: caches its `initialize`
   * result, re-applies subscriptions and the logging level, then sends what was queued.
   */
  open(initializeResult: InternalResult): void {
    const link = this.#link;
    if (!link.upstream) throw new Error(`MCP server '${this.#name}': open() before attach()`);
    this.#link = {
      kind: "open",
      upstream: link.upstream,
      child: new ChildHandshake(initializeResult),
    };
    for (const uri of this.#subscriptions.uris()) this.#background("resources/subscribe", { uri });
    const level = this.#logLevel.level;
    if (level !== undefined) this.#background("logging/setLevel", { level });
    if (link.kind !== "waiting") return;
    for (const { session, incoming } of link.queue) this.#fromClient(session, incoming);
  }

  /**
   * Disconnects the upstream, which went away: every request in flight gets an error
   * response with `reason`, and server-to-client requests are cancelled. Client traffic is
   * queued until the next {@linkcode open}, unless {@linkcode refuse} is called.
   */
  detach(reason: string): void {
    const link = this.#link;
    this.#link = link.kind === "open"
      ? { kind: "waiting", upstream: undefined, queue: [] }
      : { ...link, upstream: undefined };
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#busy.clear();
    const held = this.#turns.reset();
    for (const session of this.#sessions) session.inFlight.clear();
    for (const { session, clientId, onSettled } of pending) {
      onSettled?.(undefined);
      if (session) {
        const error = errorResponse(clientId, ProtocolErrorCode.ConnectionClosed, reason);
        this.#deliver(session, error, clientId);
      }
    }
    for (const [id, { session }] of this.#serverRequests) {
      this.#deliver(session, {
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: id, reason },
      });
    }
    this.#serverRequests.clear();
    // Requests held for their turn wait for the next upstream with the rest of the traffic.
    for (const { session, incoming } of held) this.#holdOrRefuse(session, incoming);
  }

  /** Answers queued and further client requests with an error saying `reason`, until reopened. */
  refuse(reason: string): void {
    const link = this.#link;
    this.#link = { kind: "refusing", upstream: link.upstream, reason };
    if (link.kind !== "waiting") return;
    for (const { session, incoming } of link.queue) this.#refuseMessage(session, incoming, reason);
  }

  /**
   * Handles a message the upstream wrote. `relatedTo` is the id (as sent upstream) of the
   * request a server-to-client request or a notification belongs to, when the upstream can
   * tell (an era adapter can; a legacy stdio child cannot).
   */
  fromUpstream(incoming: Incoming, relatedTo?: RequestId): void {
    if (incoming.kind === "response") this.#upstreamResponse(incoming);
    else if (incoming.kind === "notification") this.#upstreamNotification(incoming, relatedTo);
    else this.#upstreamRequest(incoming, relatedTo);
  }

  #fromClient(session: Session, incoming: Incoming): void {
    if (session.closed) return;
    if (incoming.kind === "response") return this.#clientResponse(session, incoming);
    if (incoming.kind === "notification") return this.#clientNotification(session, incoming);
    const { message, params } = incoming;
    const id = message.id;
    if (session.inFlight.has(id) || this.#turns.isHeld(session, id)) {
      // Its answer could not be told from the first one's: the first would be lost.
      const reason = `Invalid Request: request id ${JSON.stringify(id)} is already in flight`;
      return this.#deliver(session, errorResponse(id, ProtocolErrorCode.InvalidRequest, reason));
    }
    if (message.method === "ping") return this.#deliver(session, resultResponse(id, {}), id);
    const link = this.#link;
    if (link.kind !== "open") return this.#holdOrRefuse(session, incoming);
    switch (message.method) {
      case "initialize": {
        session.handshake = clientHandshake(params);
        const result = link.child.answerFor(session.handshake.protocolVersion);
        this.#deliver(session, resultResponse(id, result), id);
        session.initialized = true;
        return;
      }
      case "logging/setLevel":
        if (link.child.logs) return this.#setLogLevel(session, incoming);
        break;
      case "resources/subscribe":
        return this.#subscribe(session, incoming, link.upstream);
      case "resources/unsubscribe":
        return this.#unsubscribe(session, incoming, link.upstream);
    }
    if (this.#turns.holds(session, incoming)) return;
    this.#forward(session, incoming, link.upstream);
  }

  /**
   * Cancels the calls of a session that kept the turn while its client left a question
   * unanswered for `waitedMs`, other sessions' calls waiting: its open questions are withdrawn
   * (the server gets an error for each, the client a cancellation), its calls that may ask are
   * cancelled (the server gets a cancellation, the client an error).
   */
  #cancelWaitingCalls(session: Session, waitedMs: number): void {
    const seconds = waitedMs / 1000;
    const reason = `mcp-proxy cancelled the call: it waited ${seconds} s for this client's ` +
      `answer to a question of MCP server '${this.#name}' while other clients waited for it`;
    this.#log.warning(
      `Cancelled a call to '${this.#name}' that waited ${seconds} s on its client's answer ` +
        "while other clients' calls waited for their turn",
    );
    for (const [id, request] of this.#serverRequests) {
      if (request.session !== session) continue;
      this.#serverRequests.delete(id);
      const refusal = errorResponse(request.upstreamId, ProtocolErrorCode.InternalError, reason);
      this.#link.upstream?.send(refusal);
      const cancelled = { requestId: id, reason };
      this.#deliver(session, {
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: cancelled,
      });
    }
    for (const [clientId, upstreamId] of [...session.inFlight]) {
      if (!this.#pending.get(upstreamId)?.asks) continue;
      this.notify("notifications/cancelled", { requestId: upstreamId, reason });
      this.#deliver(
        session,
        errorResponse(clientId, ProtocolErrorCode.RequestTimeout, reason),
        clientId,
      );
      this.#release(upstreamId)?.onSettled?.(undefined);
    }
  }

  #holdOrRefuse(session: Session, incoming: IncomingRequest | IncomingNotification): void {
    const link = this.#link;
    if (link.kind === "waiting") link.queue.push({ session, incoming });
    else if (link.kind === "refusing") this.#refuseMessage(session, incoming, link.reason);
  }

  #refuseMessage(session: Session, incoming: Queued["incoming"], reason: string): void {
    if (incoming.kind !== "request") return;
    const id = incoming.message.id;
    this.#deliver(session, errorResponse(id, ProtocolErrorCode.ConnectionClosed, reason), id);
  }

  /** Sends a client request upstream under a proxy-unique id. */
  #forward(
    session: Session,
    { message, params, text }: IncomingRequest,
    upstream: Upstream,
    onSettled?: (response: WireMessage | undefined) => void,
  ): void {
    const id = ++this.#nextId;
    const progressToken = params._meta?.progressToken;
    let forwarded: WireMessage;
    let forwardedText: string | undefined;
    if (progressToken === undefined) {
      forwarded = { ...message, id };
      // The client's own text with the proxy's id, when its place is plain.
      forwardedText = text !== undefined && readsOneWay(text)
        ? withId(text, message.id, id)
        : undefined;
    } else {
      forwarded = {
        ...message,
        id,
        params: { ...params, _meta: { ...params._meta, progressToken: id } },
      };
    }
    const timeoutMs = this.#requestTimeoutMs;
    const deadline = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
    const asks = this.#turns.callStarted(session, message.method);
    this.#pending.set(id, {
      session,
      clientId: message.id,
      progressToken,
      onSettled,
      deadline,
      asks,
    });
    if (deadline !== Infinity) {
      this.#deadlineSweep ??= setInterval(
        () => this.#sweepDeadlines(),
        sweepIntervalMs(timeoutMs),
      );
    }
    if (session.inFlight.size === 0) this.#busy.add(session);
    session.inFlight.set(message.id, id);
    upstream.send(forwarded, session, forwardedText);
  }

  #clientNotification(session: Session, incoming: IncomingNotification): void {
    let { message } = incoming;
    if (message.method === "notifications/initialized") return;
    const link = this.#link;
    if (link.kind !== "open") return this.#holdOrRefuse(session, incoming);
    if (message.method === "notifications/cancelled") {
      const clientId = incoming.params.requestId as RequestId;
      const upstreamId = session.inFlight.get(clientId);
      if (upstreamId === undefined) {
        // A request still waiting for its turn never reached the upstream: forget it.
        this.#turns.dropHeld(session, clientId);
        return;
      }
      // The client wants no answer any more: the request no longer holds its session busy.
      this.#release(upstreamId)?.onSettled?.(undefined);
      message = { ...message, params: { ...incoming.params, requestId: upstreamId } };
    }
    link.upstream.send(message, session);
  }

  /** A client's response to a server-to-client request. */
  #clientResponse(session: Session, { message }: IncomingResponse): void {
    const id = message.id;
    const request = typeof id === "number" ? this.#serverRequests.get(id) : undefined;
    if (typeof id !== "number" || !request || request.session !== session) {
      this.#log.debug(`Dropped a response to unknown request ${id} for '${this.#name}'`);
      return;
    }
    this.#serverRequests.delete(id);
    this.#turns.questionClosed(session);
    this.#link.upstream?.send({ ...message, id: request.upstreamId }, session);
  }

  #setLogLevel(session: Session, { message, params }: IncomingRequest): void {
    const id = message.id;
    if (levelRank(params.level) === undefined) {
      const error = errorResponse(id, ProtocolErrorCode.InvalidParams, "Unknown logging level");
      return this.#deliver(session, error, id);
    }
    session.logLevel = params.level as string;
    this.#deliver(session, resultResponse(id, {}), id);
    this.#syncLogLevel();
  }

  /** Asks the upstream for the most verbose level any session wants; sessions filter the rest. */
  #syncLogLevel(): void {
    const level = this.#logLevel.update([...this.#sessions].map((session) => session.logLevel));
    if (level !== undefined && this.#link.kind === "open") {
      this.#background("logging/setLevel", { level });
    }
  }

  #subscribe(session: Session, incoming: IncomingRequest, upstream: Upstream): void {
    const uri = incoming.params.uri;
    if (typeof uri !== "string") return this.#forward(session, incoming, upstream);
    if (!this.#subscriptions.admits(session, uri)) {
      const id = incoming.message.id;
      const error = errorResponse(id, ProtocolErrorCode.InvalidParams, SESSION_SUBSCRIPTIONS_FULL);
      return this.#deliver(session, error, id);
    }
    if (!this.#subscriptions.add(session, uri)) {
      const id = incoming.message.id;
      return this.#deliver(session, resultResponse(id, {}), id);
    }
    this.#forward(session, incoming, upstream, (response) => {
      if (response === undefined || response.error) this.#subscriptions.remove(session, uri);
    });
  }

  #unsubscribe(session: Session, incoming: IncomingRequest, upstream: Upstream): void {
    const uri = incoming.params.uri;
    if (typeof uri !== "string") return this.#forward(session, incoming, upstream);
    // Only what this session holds is released: another session's subscription to the same
    // URI must stay upstream.
    if (this.#subscriptions.remove(session, uri)) return this.#forward(session, incoming, upstream);
    const id = incoming.message.id;
    this.#deliver(session, resultResponse(id, {}), id);
  }

  #closeSession(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    this.#sessions.delete(session);
    this.#busy.delete(session);
    for (const id of session.inFlight.values()) {
      this.#pending.delete(id);
      this.notify("notifications/cancelled", { requestId: id, reason: "Client session closed" });
    }
    session.inFlight.clear();
    for (const [id, request] of this.#serverRequests) {
      if (request.session !== session) continue;
      this.#serverRequests.delete(id);
      this.#link.upstream?.send(
        errorResponse(request.upstreamId, ProtocolErrorCode.InternalError, "Client session closed"),
      );
    }
    for (const uri of this.#subscriptions.removeSession(session)) {
      if (this.#link.kind === "open") this.#background("resources/unsubscribe", { uri });
    }
    // Only a session that set a level can change the upstream's (a look at every session).
    if (session.logLevel !== undefined) this.#syncLogLevel();
    const link = this.#link;
    if (link.kind === "waiting") {
      this.#link = { ...link, queue: link.queue.filter((queued) => queued.session !== session) };
    }
    this.#turns.forget(session);
  }

  #upstreamResponse({ message, text }: IncomingResponse): void {
    const id = message.id;
    const request = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (typeof id !== "number" || !request) {
      this.#log.debug(`Dropped a response from '${this.#name}' to unknown request ${id}`);
      return;
    }
    this.#release(id);
    request.onSettled?.(message);
    const session = request.session;
    if (!session) return;
    const clientId = request.clientId;
    // The upstream's own text with the client's id, when its place is plain: no serializing again.
    const clientText = text === undefined ? undefined : withId(text, id, clientId);
    this.#deliver(session, { ...message, id: clientId }, clientId, clientText);
  }

  /**
   * Times out the requests past their deadline; stops once no request has one. Requests are
   * in sending order and share one limit, so the first within its deadline ends the look.
   */
  #sweepDeadlines(): void {
    const now = performance.now();
    for (const [id, request] of this.#pending) {
      if (request.deadline === Infinity) continue;
      if (request.deadline > now) return;
      this.#timeOut(id);
    }
    clearInterval(this.#deadlineSweep);
    this.#deadlineSweep = undefined;
  }

  /** A client's request got no answer in time: the client gets an error, the upstream a cancel. */
  #timeOut(upstreamId: number): void {
    const request = this.#release(upstreamId);
    if (!request?.session) return;
    request.onSettled?.(undefined);
    const seconds = this.#requestTimeoutMs / 1000;
    const reason = `MCP server '${this.#name}' did not answer within ${seconds} s ` +
      "(mcp-proxy --request-timeout)";
    this.#log.warning(`${reason}; the request was cancelled`);
    this.notify("notifications/cancelled", { requestId: upstreamId, reason });
    const { session, clientId } = request;
    this.#deliver(
      session,
      errorResponse(clientId, ProtocolErrorCode.RequestTimeout, reason),
      clientId,
    );
  }

  /** Forgets a request in flight (answered, cancelled or timed out); returns it if it was. */
  #release(upstreamId: number): PendingRequest | undefined {
    const request = this.#pending.get(upstreamId);
    if (!request) return undefined;
    this.#pending.delete(upstreamId);
    const session = request.session;
    if (session) {
      session.inFlight.delete(request.clientId);
      if (session.inFlight.size === 0) this.#busy.delete(session);
      if (request.asks) this.#turns.callEnded(session);
    }
    return request;
  }

  #upstreamNotification(incoming: IncomingNotification, relatedTo?: RequestId): void {
    const method = incoming.message.method;
    switch (method) {
      case "notifications/progress":
        return this.#progress(incoming);
      case "notifications/message":
        return this.#logMessage(incoming, relatedTo);
      case "notifications/resources/updated":
        return this.#resourceUpdated(incoming);
      case "notifications/cancelled":
        return this.#upstreamCancelled(incoming);
    }
    if (method.endsWith("/list_changed")) {
      // They concern every session that has been initialised (a notification must not come
      // before the initialize answer).
      for (const session of this.#sessions) {
        if (session.initialized) this.#deliver(session, incoming.message);
      }
      return;
    }
    // One this proxy does not know may be about one client's request: only its session gets it.
    const owner = this.#ownerOf(incoming.params, relatedTo);
    if (owner) return this.#deliver(owner.session, incoming.message, owner.clientId);
    this.#log.debug(`Dropped ${method} from '${this.#name}': no client session it belongs to`);
  }

  /**
   * The session (and its client's request id) a notification of the upstream belongs to: the
   * request `relatedTo` or its `_meta.progressToken` names, else the only session with
   * requests in flight; `undefined` when it cannot be told.
   */
  #ownerOf(
    params: Params,
    relatedTo: RequestId | undefined,
  ): { session: Session; clientId: RequestId | undefined } | undefined {
    for (const id of [relatedTo, params._meta?.progressToken]) {
      const request = typeof id === "number" ? this.#pending.get(id) : undefined;
      if (request?.session) return { session: request.session, clientId: request.clientId };
    }
    if (this.#busy.size !== 1) return undefined;
    const session: Session = this.#busy.values().next().value!;
    return { session, clientId: this.#oldestClientId(session) };
  }

  #progress({ message, params }: IncomingNotification): void {
    const token = params.progressToken;
    const request = typeof token === "number" ? this.#pending.get(token) : undefined;
    if (!request?.session) return;
    const restored = { ...message, params: { ...params, progressToken: request.progressToken } };
    this.#deliver(request.session, restored, request.clientId);
  }

  /**
   * A log message tied to a request goes to that request's session alone; one written while
   * no request is in flight concerns every session. While several sessions have requests in
   * flight, one that cannot be tied to a request is dropped: it may be another client's.
   */
  #logMessage({ message, params }: IncomingNotification, relatedTo?: RequestId): void {
    const owner = this.#ownerOf(params, relatedTo);
    if (owner) {
      if (admits(owner.session.logLevel, params.level)) {
        this.#deliver(owner.session, message, owner.clientId);
      }
      return;
    }
    if (this.#busy.size > 0) {
      this.#log.debug(
        `Dropped a log message from '${this.#name}': no client session it belongs to`,
      );
      return;
    }
    for (const session of this.#sessions) {
      if (session.initialized && admits(session.logLevel, params.level)) {
        this.#deliver(session, message);
      }
    }
  }

  #resourceUpdated({ message, params }: IncomingNotification): void {
    const uri = params.uri;
    if (typeof uri !== "string") return;
    for (const session of this.#subscriptions.subscribers(uri)) this.#deliver(session, message);
  }

  /** The upstream gave up on one of its server-to-client requests. */
  #upstreamCancelled({ message, params }: IncomingNotification): void {
    for (const [id, request] of this.#serverRequests) {
      if (request.upstreamId !== params.requestId) continue;
      this.#serverRequests.delete(id);
      this.#turns.questionClosed(request.session);
      const cancelled = { ...message, params: { ...params, requestId: id } };
      return this.#deliver(request.session, cancelled);
    }
  }

  /**
   * Routes a server-to-client request to the session it belongs to: the one whose request
   * `relatedTo` names when the upstream says, else the one that can be told from the traffic;
   * refused with an error otherwise.
   */
  #upstreamRequest({ message }: IncomingRequest, relatedTo?: RequestId): void {
    const upstreamId = message.id;
    const upstream = this.#link.upstream;
    if (message.method === "ping") {
      // The proxy is the upstream's client, and it is alive.
      return upstream?.send(resultResponse(upstreamId, {}));
    }
    if (this.#busy.size === 0 && message.method === "roots/list") {
      // Servers ask for roots as soon as they are initialised, before any client is there:
      // answer as a client that has none yet.
      this.#log.debug(`Answered roots/list from '${this.#name}' with no roots: no client asked`);
      return upstream?.send(resultResponse(upstreamId, { roots: [] }));
    }
    if (this.#turns.learnThatServerAsks()) {
      this.#log.info(
        `MCP server '${this.#name}' asks its clients (${message.method}): from now on it gets ` +
          "the calls of one client session at a time, so that each question reaches the client " +
          "that caused it",
      );
    }
    const session = this.#sessionForServerRequest(message.params ?? {}, relatedTo);
    if (typeof session === "string") return this.#refuseServerRequest(message, session);
    if (session.sink.answersRequests === false) {
      // The answer would come on another POST, which is another session: refuse at once
      // rather than let the upstream wait for ever.
      const why = "its client cannot answer (stateless Streamable HTTP)";
      return this.#refuseServerRequest(message, why);
    }
    const id = ++this.#nextId;
    this.#serverRequests.set(id, { upstreamId, session });
    this.#turns.questionAsked(session);
    this.#deliver(session, { ...message, id }, this.#oldestClientId(session));
  }

  /** Answers a server-to-client request with an error saying why it cannot be relayed. */
  #refuseServerRequest(message: RequestMessage, why: string): void {
    this.#log.warning(`Refused ${message.method} from '${this.#name}': ${why}`);
    const reason = `mcp-proxy cannot route ${message.method}: ${why}`;
    const error = errorResponse(message.id, ProtocolErrorCode.InternalError, reason);
    this.#link.upstream?.send(error);
  }

  /**
   * The session a server-to-client request belongs to, or why none can be told. The upstream
   * may say (`relatedTo`, from an era adapter, or a progress token in `_meta` naming a request
   * in flight); otherwise it is the only session with requests in flight, or the only one
   * whose requests in flight may ask. Anything else is refused: a request must never reach
   * another client's session.
   */
  #sessionForServerRequest(params: Params, relatedTo: RequestId | undefined): Session | string {
    for (const id of [relatedTo, params._meta?.progressToken]) {
      const request = typeof id === "number" ? this.#pending.get(id) : undefined;
      if (request?.session) return request.session;
    }
    if (this.#busy.size === 0) return "no client request is in flight";
    if (this.#busy.size === 1) return this.#busy.values().next().value!;
    const asker = this.#turns.onlyAsker();
    if (asker) return asker;
    if (this.#turns.askers === 0) {
      return `none of the ${this.#busy.size} client sessions with requests in flight made a call ` +
        "that may ask";
    }
    return `${this.#turns.askers} client sessions have calls in flight that may have caused it ` +
      "(from now on their calls reach the server one session at a time)";
  }

  /** The client id of the session's oldest request in flight, to relate notifications to. */
  #oldestClientId(session: Session): RequestId | undefined {
    for (const id of session.inFlight.keys()) return id;
    return undefined;
  }

  /** Sends a request of the proxy's own whose failure only needs logging. */
  #background(method: string, params: Params): void {
    this.request(method, params).catch((error) =>
      this.#log.warning(`MCP server '${this.#name}': ${error.message}`)
    );
  }

  #deliver(
    session: Session,
    message: WireMessage,
    relatedRequestId?: RequestId,
    text?: string,
  ): void {
    try {
      session.sink.send(message, relatedRequestId, text);
    } catch (error) {
      this.#log.debug(`Could not deliver a message from '${this.#name}' to a client: ${error}`);
    }
  }
}
