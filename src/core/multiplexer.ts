/**
 * The multiplexer: many client sessions sharing one upstream MCP server.
 *
 * Client request ids (and progress tokens) are replaced by proxy-unique numbers on the way
 * up and restored on the way back, so sessions that reuse the same ids never see each other's
 * traffic. The upstream's `initialize` result is cached and answers every client's
 * `initialize`. This file is that path, per message; the rest has modules of their own: the
 * records (`mux_session.ts`), the state of the link to the upstream (`link.ts`), what sessions
 * set upstream ({@linkcode SessionSettings}), the upstream's questions to clients
 * ({@linkcode Questions}), the order of calls that may cause them ({@linkcode Turns}), its
 * notifications ({@linkcode UpstreamNotifications}) and the deadline of requests
 * ({@linkcode DeadlineSweep}).
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
  resultResponse,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import { withId } from "../protocol/wire_text.ts";
import type { CallOutcome, ServerCalls } from "./observe/call_watch.ts";
import { ChildHandshake, clientHandshake } from "../protocol/handshake.ts";
import { DeadlineSweep } from "./deadlines.ts";
import {
  asForwarded,
  holdOrRefuse,
  type Link,
  refuseMessage,
  type Upstream,
  waitingFor,
  withoutSession,
  withUpstream,
} from "./link.ts";
import { type PendingRequest, Session } from "./mux_session.ts";
import { Questions } from "./questions.ts";
import { SessionSettings } from "./session_settings.ts";
import { Turns } from "./turns.ts";
import type { ClientSink, MuxSession, SessionOpening } from "./types.ts";
import { UpstreamNotifications } from "./upstream_notifications.ts";

export type { Upstream };

/** The upstream's answer to a request the proxy made itself. */
export type InternalResult = Record<string, unknown>;

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
  /** Told of each client request sent upstream and of its end (call log, metrics, traces). */
  readonly calls?: ServerCalls;
}

/** Routes messages between client sessions and one upstream server. */
export class Multiplexer {
  readonly #name: string;
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  readonly #calls: ServerCalls | undefined;
  #link: Link = waitingFor(undefined);
  #nextId = 0;
  #nextSession = 0;
  /** Requests in flight by upstream id, in the order they were sent (hence of deadline). */
  readonly #pending = new Map<number, PendingRequest>();
  readonly #sessions = new Set<Session>();
  /** Sessions with requests in flight. */
  readonly #busy = new Set<Session>();
  readonly #deadlines: DeadlineSweep;
  /** Whose turn it is to send calls that may ask, once the upstream has asked a client. */
  readonly #turns: Turns<Session>;
  readonly #questions: Questions;
  readonly #settings: SessionSettings;
  readonly #notifications: UpstreamNotifications;

  /** A multiplexer for the server called `name`; client traffic is queued until {@linkcode open}. */
  constructor(name: string, log: Logger, options: MultiplexerOptions = {}) {
    this.#name = name;
    this.#log = log;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 0;
    this.#calls = options.calls;
    const context = {
      name,
      log,
      pending: this.#pending,
      busy: this.#busy,
      sessions: this.#sessions,
    };
    this.#deadlines = new DeadlineSweep({
      ...context,
      release: (upstreamId) => this.#release(upstreamId, "timeout"),
      notify: (method, params) => this.notify(method, params),
    }, this.#requestTimeoutMs);
    this.#turns = new Turns<Session>({
      admit: (session, incoming) => {
        const link = this.#link;
        if (link.kind === "open") this.#forward(session, incoming, link.upstream);
        else holdOrRefuse(link, session, incoming);
      },
      cancelWaiting: (session, waitedMs) => this.#questions.cancelWaiting(session, waitedMs),
    }, options.turnPatienceMs);
    this.#questions = new Questions({
      ...context,
      turns: this.#turns,
      toUpstream: (message, session) => this.#link.upstream?.send(message, session),
      nextId: () => ++this.#nextId,
      cancelCall: (session, clientId, upstreamId, reason) => {
        this.notify("notifications/cancelled", { requestId: upstreamId, reason });
        const error = errorResponse(clientId, ProtocolErrorCode.RequestTimeout, reason);
        session.deliver(error, clientId);
        this.#release(upstreamId, "timeout")?.onSettled?.(undefined);
      },
    });
    this.#settings = new SessionSettings({
      sessions: this.#sessions,
      isOpen: () => this.#link.kind === "open",
      forward: (session, incoming, onSettled) => {
        const link = this.#link;
        if (link.kind === "open") this.#forward(session, incoming, link.upstream, onSettled);
      },
      background: (method, params) => this.#background(method, params),
    });
    this.#notifications = new UpstreamNotifications({
      ...context,
      subscriptions: this.#settings.subscriptions,
      questions: this.#questions,
    });
  }

  /** Opens a client session that delivers to `sink` (`opening` names it in the call log). */
  openSession(sink: ClientSink, opening?: SessionOpening): MuxSession {
    const session = new Session(++this.#nextSession, sink, this.#log, this.#name, {
      client: opening?.client,
      calls: this.#calls,
    });
    this.#sessions.add(session);
    return {
      receive: (incoming) => this.#fromClient(session, incoming),
      close: () => this.#closeSession(session),
    };
  }

  /** Connects a new upstream; only the proxy's own requests reach it until {@linkcode open}. */
  attach(upstream: Upstream): void {
    this.#link = withUpstream(this.#link, upstream);
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
    this.#settings.reapply();
    if (link.kind !== "waiting") return;
    for (const { session, incoming } of link.queue) this.#fromClient(session, incoming);
  }

  /**
   * Disconnects the upstream, which went away: every request in flight gets an error
   * response with `reason`, and server-to-client requests are cancelled. Client traffic is
   * queued until the next {@linkcode open}, unless {@linkcode refuse} is called.
   */
  detach(reason: string): void {
    this.#link = withUpstream(this.#link, undefined);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#busy.clear();
    const held = this.#turns.reset();
    for (const session of this.#sessions) session.inFlight.clear();
    for (const { session, clientId, onSettled, call } of pending) {
      onSettled?.(undefined);
      if (call) this.#calls!.ended(call, ProtocolErrorCode.ConnectionClosed);
      if (session) {
        session.deliver(
          errorResponse(clientId, ProtocolErrorCode.ConnectionClosed, reason),
          clientId,
        );
      }
    }
    this.#questions.cancelAll(reason);
    // Requests held for their turn wait for the next upstream with the rest of the traffic.
    for (const { session, incoming } of held) holdOrRefuse(this.#link, session, incoming);
  }

  /** Answers queued and further client requests with an error saying `reason`, until reopened. */
  refuse(reason: string): void {
    const link = this.#link;
    this.#link = { kind: "refusing", upstream: link.upstream, reason };
    if (link.kind !== "waiting") return;
    for (const { session, incoming } of link.queue) refuseMessage(session, incoming, reason);
  }

  /**
   * Handles a message the upstream wrote. `relatedTo` is the id (as sent upstream) of the
   * request a server-to-client request or a notification belongs to, when the upstream can
   * tell (an era adapter can; a legacy stdio child cannot).
   */
  fromUpstream(incoming: Incoming, relatedTo?: RequestId): void {
    if (incoming.kind === "response") this.#upstreamResponse(incoming);
    else if (incoming.kind === "notification") this.#notifications.route(incoming, relatedTo);
    else this.#questions.ask(incoming, relatedTo);
  }

  #fromClient(session: Session, incoming: Incoming): void {
    if (session.closed) return;
    if (incoming.kind === "response") return this.#questions.answered(session, incoming);
    if (incoming.kind === "notification") return this.#clientNotification(session, incoming);
    this.#calls?.received(incoming);
    const { message, params } = incoming;
    const id = message.id;
    if (session.inFlight.has(id) || this.#turns.isHeld(session, id)) {
      // Its answer could not be told from the first one's: the first would be lost.
      const reason = `Invalid Request: request id ${JSON.stringify(id)} is already in flight`;
      return session.deliver(errorResponse(id, ProtocolErrorCode.InvalidRequest, reason));
    }
    if (message.method === "ping") return session.deliver(resultResponse(id, {}), id);
    const link = this.#link;
    if (link.kind !== "open") return holdOrRefuse(link, session, incoming);
    switch (message.method) {
      case "initialize": {
        session.handshake = clientHandshake(params);
        const result = link.child.answerFor(session.handshake.protocolVersion);
        session.deliver(resultResponse(id, result), id);
        session.initialized = true;
        return;
      }
      case "logging/setLevel":
        if (link.child.logs) return this.#settings.setLogLevel(session, incoming);
        break;
      case "resources/subscribe":
        return this.#settings.subscribe(session, incoming);
      case "resources/unsubscribe":
        return this.#settings.unsubscribe(session, incoming);
    }
    if (this.#turns.holds(session, incoming)) return;
    this.#forward(session, incoming, link.upstream);
  }

  /** Sends a client request upstream under a proxy-unique id. */
  #forward(
    session: Session,
    incoming: IncomingRequest,
    upstream: Upstream,
    onSettled?: (response: WireMessage | undefined) => void,
  ): void {
    const { message, params } = incoming;
    const id = ++this.#nextId;
    const progressToken = params._meta?.progressToken;
    const call = this.#calls?.started(session.client, incoming);
    const [forwarded, forwardedText] = asForwarded(incoming, id, call?.traceparent);
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
      call,
    });
    if (deadline !== Infinity) this.#deadlines.arm();
    if (session.inFlight.size === 0) this.#busy.add(session);
    session.inFlight.set(message.id, id);
    upstream.send(forwarded, session, forwardedText);
  }

  #clientNotification(session: Session, incoming: IncomingNotification): void {
    let { message } = incoming;
    if (message.method === "notifications/initialized") return;
    const link = this.#link;
    if (link.kind !== "open") return holdOrRefuse(link, session, incoming);
    if (message.method === "notifications/cancelled") {
      const clientId = incoming.params.requestId as RequestId;
      const upstreamId = session.inFlight.get(clientId);
      if (upstreamId === undefined) {
        // A request still waiting for its turn never reached the upstream: forget it.
        this.#turns.dropHeld(session, clientId);
        return;
      }
      // The client wants no answer any more: the request no longer holds its session busy.
      this.#release(upstreamId, "cancelled")?.onSettled?.(undefined);
      message = { ...message, params: { ...incoming.params, requestId: upstreamId } };
    }
    link.upstream.send(message, session);
  }

  #closeSession(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    this.#sessions.delete(session);
    this.#busy.delete(session);
    for (const id of session.inFlight.values()) {
      const call = this.#pending.get(id)?.call;
      this.#pending.delete(id);
      if (call) this.#calls!.ended(call, "cancelled");
      this.notify("notifications/cancelled", { requestId: id, reason: "Client session closed" });
    }
    session.inFlight.clear();
    this.#questions.withdraw(session, "Client session closed");
    this.#settings.forget(session);
    this.#link = withoutSession(this.#link, session);
    this.#turns.forget(session);
  }

  #upstreamResponse({ message, text }: IncomingResponse): void {
    const id = message.id;
    const request = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (typeof id !== "number" || !request) {
      this.#log.debug(`Dropped a response from '${this.#name}' to unknown request ${id}`);
      return;
    }
    this.#release(id, message.error ? message.error.code : "ok", message.result);
    request.onSettled?.(message);
    const session = request.session;
    if (!session) return;
    const clientId = request.clientId;
    // The upstream's own text with the client's id, when its place is plain: no serializing again.
    const clientText = text === undefined ? undefined : withId(text, id, clientId);
    session.deliver({ ...message, id: clientId }, clientId, clientText);
  }

  /** Forgets a request in flight, ended with `outcome` (and `result`); returns it if it was. */
  #release(upstreamId: number, outcome: CallOutcome, result?: unknown): PendingRequest | undefined {
    const request = this.#pending.get(upstreamId);
    if (!request) return undefined;
    this.#pending.delete(upstreamId);
    if (request.call) this.#calls!.ended(request.call, outcome, result);
    const session = request.session;
    if (session) {
      session.inFlight.delete(request.clientId);
      if (session.inFlight.size === 0) this.#busy.delete(session);
      if (request.asks) this.#turns.callEnded(session);
    }
    return request;
  }

  /** Sends a request of the proxy's own whose failure only needs logging. */
  #background(method: string, params: Params): void {
    this.request(method, params).catch((error) =>
      this.#log.warning(`MCP server '${this.#name}': ${error.message}`)
    );
  }
}
