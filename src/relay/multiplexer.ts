/**
 * The multiplexer: many client sessions sharing one upstream MCP server.
 *
 * Client request ids (and progress tokens) are replaced by proxy-unique numbers on the way
 * up and restored on the way back, so sessions that reuse the same ids never see each other's
 * traffic. The upstream's `initialize` result is cached and answers every client's
 * `initialize`; resource subscriptions and the logging level are kept per session and applied
 * upstream once, and again after a restart.
 * @module
 */
import { mcpTypes } from "../deps.ts";
import type { JSONRPCMessage, RequestId } from "../deps.ts";
import type { Logger } from "../log.ts";
import {
  errorResponse,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  type Params,
  resultResponse,
  SERVER_UNAVAILABLE,
  type WireMessage,
} from "./jsonrpc.ts";
import { levelName, levelRank } from "./log_levels.ts";
import type { ClientSink, MuxSession } from "./types.ts";

/** Where the multiplexer writes messages for the upstream server. */
export interface Upstream {
  /** Writes one message to the server. */
  send(message: unknown): void;
}

/** The upstream's answer to a request the proxy made itself. */
export type InternalResult = Record<string, unknown>;

interface Session {
  readonly sink: ClientSink;
  /** Upstream ids of this session's requests awaiting a response, oldest first. */
  readonly pending: Set<number>;
  /** Rank of the level set with `logging/setLevel`, if any. */
  logLevel: number | undefined;
  /** URIs this session subscribed to. */
  readonly subscriptions: Set<string>;
  /** Whether its `initialize` was answered: before that, no broadcast may reach it. */
  initialized: boolean;
  closed: boolean;
}

interface PendingRequest {
  /** The client session that asked, or `undefined` for the proxy's own requests. */
  session: Session | undefined;
  /** The client's id for the request. */
  clientId: RequestId;
  /** The client's progress token, which was replaced by the upstream id. */
  progressToken: unknown;
  /** Called with the upstream's response, or `undefined` when the upstream went away. */
  onSettled: ((response: WireMessage | undefined) => void) | undefined;
}

interface ServerRequest {
  /** The upstream's id for its request. */
  upstreamId: RequestId;
  session: Session;
}

const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = mcpTypes.SUPPORTED_PROTOCOL_VERSIONS;

/** Routes messages between client sessions and one upstream server. */
export class Multiplexer {
  readonly #name: string;
  readonly #log: Logger;
  #upstream: Upstream | undefined;
  /** Whether the upstream is initialised and client traffic flows. */
  #open = false;
  /** Why client requests are refused while not open; queued instead when `undefined`. */
  #refusal: string | undefined;
  #queue: [Session, WireMessage][] = [];
  #initializeResult: InternalResult | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, PendingRequest>();
  /** Server-to-client requests in flight, by the id the client sees. */
  readonly #serverRequests = new Map<number, ServerRequest>();
  readonly #sessions = new Set<Session>();
  /** Sessions with requests in flight: the candidates for a server-to-client request. */
  readonly #busy = new Set<Session>();
  readonly #subscribers = new Map<string, Set<Session>>();
  #upstreamLogLevel: number | undefined;

  /** A multiplexer for the server called `name`; client traffic is queued until {@linkcode open}. */
  constructor(name: string, log: Logger) {
    this.#name = name;
    this.#log = log;
  }

  /** The cached upstream `initialize` result, once there is one. */
  get initializeResult(): InternalResult | undefined {
    return this.#initializeResult;
  }

  /** Opens a client session that delivers to `sink`. */
  openSession(sink: ClientSink): MuxSession {
    const session: Session = {
      sink,
      pending: new Set(),
      logLevel: undefined,
      subscriptions: new Set(),
      initialized: false,
      closed: false,
    };
    this.#sessions.add(session);
    return {
      receive: (message) => this.#fromClient(session, message as unknown as WireMessage),
      close: () => this.#closeSession(session),
    };
  }

  /** Connects a new upstream; only the proxy's own requests reach it until {@linkcode open}. */
  attach(upstream: Upstream): void {
    this.#upstream = upstream;
  }

  /** Sends a request of the proxy's own upstream; resolves with its result. */
  request(method: string, params?: Params): Promise<InternalResult> {
    const { promise, resolve, reject } = Promise.withResolvers<InternalResult>();
    const upstream = this.#upstream;
    if (!upstream) {
      reject(new Error(`MCP server '${this.#name}' is not running`));
      return promise;
    }
    const id = ++this.#nextId;
    this.#pending.set(id, {
      session: undefined,
      clientId: id,
      progressToken: undefined,
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
    this.#upstream?.send({ jsonrpc: "2.0", method, params });
  }

  /**
   * Lets client traffic flow to the attached, initialised upstream: caches its `initialize`
   * result, re-applies subscriptions and the logging level, then sends what was queued.
   */
  open(initializeResult: InternalResult): void {
    this.#initializeResult = initializeResult;
    this.#open = true;
    this.#refusal = undefined;
    for (const uri of this.#subscribers.keys()) this.#background("resources/subscribe", { uri });
    if (this.#upstreamLogLevel !== undefined) {
      this.#background("logging/setLevel", { level: levelName(this.#upstreamLogLevel) });
    }
    const queued = this.#queue;
    this.#queue = [];
    for (const [session, message] of queued) this.#fromClient(session, message);
  }

  /**
   * Disconnects the upstream, which went away: every request in flight gets an error
   * response with `reason`, and server-to-client requests are cancelled. Client traffic is
   * queued until the next {@linkcode open}, unless {@linkcode refuse} is called.
   */
  detach(reason: string): void {
    this.#upstream = undefined;
    this.#open = false;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#busy.clear();
    for (const session of this.#sessions) session.pending.clear();
    for (const { session, clientId, onSettled } of pending) {
      onSettled?.(undefined);
      if (session) {
        this.#deliver(session, errorResponse(clientId, SERVER_UNAVAILABLE, reason), clientId);
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
  }

  /** Answers queued and further client requests with an error saying `reason`, until reopened. */
  refuse(reason: string): void {
    this.#refusal = reason;
    const queued = this.#queue;
    this.#queue = [];
    for (const [session, message] of queued) this.#refuseMessage(session, message);
  }

  /** Handles a message the upstream wrote. */
  fromUpstream(message: WireMessage): void {
    if (message.method === undefined) this.#upstreamResponse(message);
    else if (message.id === undefined || message.id === null) this.#upstreamNotification(message);
    else this.#upstreamRequest(message);
  }

  #fromClient(session: Session, message: WireMessage): void {
    if (session.closed) return;
    const { method, id } = message;
    if (method === undefined) return this.#clientResponse(session, message);
    if (id === undefined || id === null) return this.#clientNotification(session, message);
    if (method === "ping") return this.#deliver(session, resultResponse(id, {}), id);
    if (!this.#open) return this.#holdOrRefuse(session, message);
    switch (method) {
      case "initialize":
        this.#deliver(session, resultResponse(id, this.#initializeFor(message)), id);
        session.initialized = true;
        return;
      case "logging/setLevel":
        if (this.#upstreamLogs()) return this.#setLogLevel(session, message);
        break;
      case "resources/subscribe":
        return this.#subscribe(session, message);
      case "resources/unsubscribe":
        return this.#unsubscribe(session, message);
    }
    this.#forward(session, message);
  }

  #holdOrRefuse(session: Session, message: WireMessage): void {
    if (this.#refusal === undefined) this.#queue.push([session, message]);
    else this.#refuseMessage(session, message);
  }

  #refuseMessage(session: Session, message: WireMessage): void {
    const id = message.id;
    if (message.method === undefined || id === undefined || id === null) return;
    this.#deliver(session, errorResponse(id, SERVER_UNAVAILABLE, this.#refusal!), id);
  }

  /** The cached result, with the client's protocol version when it is an older one we speak. */
  #initializeFor(message: WireMessage): InternalResult {
    const result = this.#initializeResult!;
    const requested = message.params?.protocolVersion;
    if (
      typeof requested === "string" && requested < (result.protocolVersion as string) &&
      SUPPORTED_PROTOCOL_VERSIONS.includes(requested)
    ) {
      return { ...result, protocolVersion: requested };
    }
    return result;
  }

  /** Sends a client request upstream under a proxy-unique id. */
  #forward(
    session: Session,
    message: WireMessage,
    onSettled?: (response: WireMessage | undefined) => void,
  ): void {
    const id = ++this.#nextId;
    let params = message.params;
    const progressToken = params?._meta?.progressToken;
    if (progressToken !== undefined) {
      params = { ...params, _meta: { ...params!._meta, progressToken: id } };
    }
    this.#pending.set(id, { session, clientId: message.id!, progressToken, onSettled });
    if (session.pending.size === 0) this.#busy.add(session);
    session.pending.add(id);
    this.#upstream!.send({ ...message, id, params });
  }

  #clientNotification(session: Session, message: WireMessage): void {
    if (message.method === "notifications/initialized") return;
    if (!this.#open) return this.#holdOrRefuse(session, message);
    if (message.method === "notifications/cancelled") {
      const upstreamId = this.#upstreamIdOf(session, message.params?.requestId);
      if (upstreamId === undefined) return;
      message = { ...message, params: { ...message.params, requestId: upstreamId } };
    }
    this.#upstream!.send(message);
  }

  #upstreamIdOf(session: Session, clientId: unknown): number | undefined {
    for (const id of session.pending) {
      if (this.#pending.get(id)!.clientId === clientId) return id;
    }
    return undefined;
  }

  /** A client's response to a server-to-client request. */
  #clientResponse(session: Session, message: WireMessage): void {
    const id = message.id;
    const request = typeof id === "number" ? this.#serverRequests.get(id) : undefined;
    if (!request || request.session !== session) {
      this.#log.debug(`Dropped a response to unknown request ${id} for '${this.#name}'`);
      return;
    }
    this.#serverRequests.delete(id as number);
    this.#upstream?.send({ ...message, id: request.upstreamId });
  }

  /** Whether the upstream declared the logging capability (else setLevel goes to it as is). */
  #upstreamLogs(): boolean {
    const capabilities = this.#initializeResult?.capabilities as
      | Record<string, unknown>
      | undefined;
    return capabilities?.logging !== undefined;
  }

  #setLogLevel(session: Session, message: WireMessage): void {
    const id = message.id!;
    const rank = levelRank(message.params?.level);
    if (rank === undefined) {
      return this.#deliver(session, errorResponse(id, INVALID_PARAMS, "Unknown logging level"), id);
    }
    session.logLevel = rank;
    this.#deliver(session, resultResponse(id, {}), id);
    this.#syncLogLevel();
  }

  /** Asks the upstream for the most verbose level any session wants; sessions filter the rest. */
  #syncLogLevel(): void {
    let lowest: number | undefined;
    for (const { logLevel } of this.#sessions) {
      if (logLevel !== undefined && (lowest === undefined || logLevel < lowest)) lowest = logLevel;
    }
    if (lowest === undefined || lowest === this.#upstreamLogLevel) return;
    this.#upstreamLogLevel = lowest;
    if (this.#open) this.#background("logging/setLevel", { level: levelName(lowest) });
  }

  #subscribe(session: Session, message: WireMessage): void {
    const uri = message.params?.uri;
    if (typeof uri !== "string") return this.#forward(session, message);
    session.subscriptions.add(uri);
    const subscribers = this.#subscribers.get(uri);
    if (subscribers) {
      subscribers.add(session);
      return this.#deliver(session, resultResponse(message.id!, {}), message.id!);
    }
    this.#subscribers.set(uri, new Set([session]));
    this.#forward(session, message, (response) => {
      if (response === undefined || response.error) this.#dropSubscription(session, uri);
    });
  }

  #unsubscribe(session: Session, message: WireMessage): void {
    const uri = message.params?.uri;
    const subscribers = typeof uri === "string" ? this.#subscribers.get(uri) : undefined;
    if (!subscribers?.has(session)) return this.#forward(session, message);
    if (this.#dropSubscription(session, uri as string)) return this.#forward(session, message);
    this.#deliver(session, resultResponse(message.id!, {}), message.id!);
  }

  /** Removes `session`'s subscription to `uri`; returns whether it was the last one. */
  #dropSubscription(session: Session, uri: string): boolean {
    session.subscriptions.delete(uri);
    const subscribers = this.#subscribers.get(uri);
    if (!subscribers?.delete(session) || subscribers.size > 0) return false;
    this.#subscribers.delete(uri);
    return true;
  }

  #closeSession(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    this.#sessions.delete(session);
    this.#busy.delete(session);
    for (const id of session.pending) {
      this.#pending.delete(id);
      this.notify("notifications/cancelled", { requestId: id, reason: "Client session closed" });
    }
    session.pending.clear();
    for (const [id, request] of this.#serverRequests) {
      if (request.session !== session) continue;
      this.#serverRequests.delete(id);
      this.#upstream?.send(
        errorResponse(request.upstreamId, INTERNAL_ERROR, "Client session closed"),
      );
    }
    for (const uri of session.subscriptions) {
      if (this.#dropSubscription(session, uri) && this.#open) {
        this.#background("resources/unsubscribe", { uri });
      }
    }
    this.#syncLogLevel();
    this.#queue = this.#queue.filter(([queued]) => queued !== session);
  }

  #upstreamResponse(message: WireMessage): void {
    const id = message.id;
    const request = typeof id === "number" ? this.#pending.get(id) : undefined;
    if (!request) {
      this.#log.debug(`Dropped a response from '${this.#name}' to unknown request ${id}`);
      return;
    }
    this.#pending.delete(id as number);
    request.onSettled?.(message);
    const session = request.session;
    if (!session) return;
    session.pending.delete(id as number);
    if (session.pending.size === 0) this.#busy.delete(session);
    message.id = request.clientId;
    this.#deliver(session, message, request.clientId);
  }

  #upstreamNotification(message: WireMessage): void {
    switch (message.method) {
      case "notifications/progress":
        return this.#progress(message);
      case "notifications/message":
        return this.#logMessage(message);
      case "notifications/resources/updated":
        return this.#resourceUpdated(message);
      case "notifications/cancelled":
        return this.#upstreamCancelled(message);
    }
    // `*/list_changed`, and notifications this proxy does not know, concern every session that
    // has been initialised (a notification must not come before the initialize answer).
    for (const session of this.#sessions) {
      if (session.initialized) this.#deliver(session, message);
    }
  }

  #progress(message: WireMessage): void {
    const params = message.params!;
    const token = params.progressToken;
    const request = typeof token === "number" ? this.#pending.get(token) : undefined;
    if (!request?.session) return;
    params.progressToken = request.progressToken;
    this.#deliver(request.session, message, request.clientId);
  }

  #logMessage(message: WireMessage): void {
    const rank = levelRank(message.params?.level) ?? 0;
    for (const session of this.#sessions) {
      if (!session.initialized) continue;
      if (session.logLevel !== undefined && rank < session.logLevel) continue;
      this.#deliver(session, message, this.#oldestClientId(session));
    }
  }

  #resourceUpdated(message: WireMessage): void {
    const uri = message.params?.uri;
    const subscribers = typeof uri === "string" ? this.#subscribers.get(uri) : undefined;
    if (!subscribers) return;
    for (const session of subscribers) this.#deliver(session, message);
  }

  /** The upstream gave up on one of its server-to-client requests. */
  #upstreamCancelled(message: WireMessage): void {
    const params = message.params!;
    for (const [id, request] of this.#serverRequests) {
      if (request.upstreamId !== params.requestId) continue;
      this.#serverRequests.delete(id);
      params.requestId = id;
      return this.#deliver(request.session, message);
    }
  }

  /** Routes a server-to-client request to the one session with requests in flight. */
  #upstreamRequest(message: WireMessage): void {
    const upstreamId = message.id!;
    if (message.method === "ping") {
      // The proxy is the upstream's client, and it is alive.
      return this.#upstream?.send(resultResponse(upstreamId, {}));
    }
    if (this.#busy.size !== 1) {
      const why = this.#busy.size === 0
        ? "no client request is in flight"
        : `${this.#busy.size} client sessions have requests in flight`;
      this.#log.warning(`Refused ${message.method} from '${this.#name}': ${why}`);
      this.#upstream?.send(
        errorResponse(
          upstreamId,
          INTERNAL_ERROR,
          `mcp-proxy cannot route ${message.method}: ${why}`,
        ),
      );
      return;
    }
    const session: Session = this.#busy.values().next().value!;
    const id = ++this.#nextId;
    this.#serverRequests.set(id, { upstreamId, session });
    message.id = id;
    this.#deliver(session, message, this.#oldestClientId(session));
  }

  /** The client id of the session's oldest request in flight, to relate notifications to. */
  #oldestClientId(session: Session): RequestId | undefined {
    for (const id of session.pending) return this.#pending.get(id)!.clientId;
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
    message: WireMessage | JSONRPCMessage,
    relatedRequestId?: RequestId,
  ): void {
    try {
      session.sink.send(message as JSONRPCMessage, relatedRequestId).catch(
        this.#onSendError,
      );
    } catch (error) {
      this.#onSendError(error);
    }
  }

  #onSendError = (error: unknown): void => {
    this.#log.debug(`Could not deliver a message from '${this.#name}' to a client: ${error}`);
  };
}
