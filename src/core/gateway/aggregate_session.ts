/**
 * One client's session with the aggregate: a legacy MCP session whose requests go to the
 * member sessions it holds, one per member (see {@linkcode MemberLink}). `initialize`, `ping`
 * and the lists are answered here; a tool call or prompt goes to the member its name's prefix
 * names, a resource request to the member its URI belongs to (see `resource_routes.ts`), the
 * logging level to every member.
 * @module
 */
import { settlesWithin } from "../../io/async.ts";
import {
  errorResponse,
  type Incoming,
  type IncomingNotification,
  type IncomingRequest,
  isObject,
  LATEST_LEGACY_PROTOCOL_VERSION,
  type Params,
  ProtocolErrorCode,
  type RequestId,
  requestKey,
  resultResponse,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import type { ClientSink, MuxSession, SessionOpening, SharedServer } from "../types.ts";
import { aggregateInitializeResult } from "./aggregate_handshake.ts";
import { ownerOfName } from "./aggregate_names.ts";
import { type LinkHost, MemberLink } from "./member_link.ts";
import type { AggregateContext } from "./members.ts";
import { LIST_KINDS, type ListHost, listPage, refreshResourceRoutes } from "./merged_lists.ts";

/**
 * Longest the aggregate's `initialize` waits for the running members' answers, in ms: a member
 * starting a child for this client may take long, and the client must not wait for it.
 */
export const INITIALIZE_WAIT_MS = 10_000;

/** The notifications that tell a client a list may have changed. */
const LIST_CHANGED = ["tools", "prompts", "resources"].map((list) =>
  `notifications/${list}/list_changed`
);

/** What the aggregate session sends members in place of a client's `initialize` it has not had. */
const DEFAULT_INITIALIZE: Params = {
  protocolVersion: LATEST_LEGACY_PROTOCOL_VERSION,
  capabilities: {},
  clientInfo: { name: "unknown", version: "0" },
};

/** One client's session with the aggregate. */
export class AggregateSession implements MuxSession, ListHost, LinkHost {
  /** The aggregate. */
  readonly context: AggregateContext;
  readonly #sink: ClientSink;
  readonly #opening: SessionOpening | undefined;
  readonly #links = new Map<SharedServer, MemberLink>();
  /** Links to members that left the aggregate, open until the calls running on them end. */
  readonly #retiring = new Set<MemberLink>();
  /** The client's requests being served, by {@linkcode requestKey}. */
  readonly #inFlight = new Map<string, RequestId>();
  #initializeParams: Params | undefined;
  #logLevel: string | undefined;
  /** Whether `initialize` was answered: notifications may reach the client from then on. */
  #initialized = false;
  #nextQuestionId = 0;
  #closed = false;
  /** Called once the session closed. */
  readonly #onClose: (session: AggregateSession) => void;

  /** A session delivering to `sink`, for the client `opening` describes. */
  constructor(
    context: AggregateContext,
    sink: ClientSink,
    opening: SessionOpening | undefined,
    onClose: (session: AggregateSession) => void,
  ) {
    this.context = context;
    this.#sink = sink;
    this.#opening = opening;
    this.#onClose = onClose;
  }

  /** Where the session logs: the aggregate's log. */
  get log(): AggregateContext["log"] {
    return this.context.log;
  }

  /** Handles a message of the client. */
  receive(incoming: Incoming): void {
    if (this.#closed) return;
    if (incoming.kind === "response") {
      for (const link of this.#everyLink()) if (link.answered(incoming.message)) return;
      this.log.debug(`Dropped a response to unknown request ${incoming.message.id} (aggregate)`);
      return;
    }
    if (incoming.kind === "notification") return this.#notification(incoming);
    const { message } = incoming;
    const id = message.id;
    const stopped = this.context.stopped;
    if (stopped !== undefined) {
      return this.#deliver(errorResponse(id, ProtocolErrorCode.ConnectionClosed, stopped), id);
    }
    if (this.#inFlight.has(requestKey(id))) {
      const reason = `Invalid Request: request id ${JSON.stringify(id)} is already in flight`;
      return this.#deliver(errorResponse(id, ProtocolErrorCode.InvalidRequest, reason));
    }
    if (message.method === "ping") return this.#deliver(resultResponse(id, {}), id);
    this.#serve(id, () => this.#request(incoming));
  }

  /** Ends the session: the member sessions close, which cancels what they still do. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inFlight.clear();
    for (const link of this.#everyLink()) link.close();
    this.#links.clear();
    this.#retiring.clear();
    this.#onClose(this);
  }

  /** Ends the session with an error saying `reason` for each request in flight. */
  end(reason: string): void {
    for (const id of this.#inFlight.values()) {
      this.#deliver(errorResponse(id, ProtocolErrorCode.ConnectionClosed, reason), id);
    }
    this.close();
  }

  /** A member's state changed: the client's lists may have, and a member back up is prepared. */
  memberChanged(server: SharedServer): void {
    if (this.#closed) return;
    if (server.state === "running") void this.#links.get(server)?.prepare();
    if (!this.#initialized) return;
    for (const method of LIST_CHANGED) this.#deliver({ jsonrpc: "2.0", method });
  }

  /**
   * A member left the aggregate: new requests no longer reach it, the calls running on it
   * finish, then its session closes (see {@linkcode MemberLink.retire}).
   */
  memberRemoved(server: SharedServer, reason: string): void {
    const link = this.#links.get(server);
    if (link === undefined) return;
    this.#links.delete(server);
    if (link.retire(reason, () => this.#retiring.delete(link))) this.#retiring.add(link);
  }

  /** How many of the client's calls run on `server`, a member or one that left. */
  callsOn(server: SharedServer): number {
    let calls = 0;
    for (const link of this.#everyLink()) if (link.server === server) calls += link.callsRunning;
    return calls;
  }

  /** The members' lists changed as a whole (config reload). */
  membersChanged(): void {
    if (!this.#initialized || this.#closed) return;
    for (const method of LIST_CHANGED) this.#deliver({ jsonrpc: "2.0", method });
  }

  /** The session's link to `server`, made on first use. */
  linkOf(server: SharedServer): MemberLink {
    let link = this.#links.get(server);
    if (link === undefined) {
      link = new MemberLink(server, this, this.#sink, this.#opening);
      this.#links.set(server, link);
    }
    return link;
  }

  /** What the members are sent as the client's `initialize` params. */
  initializeParams(): Params {
    return this.#initializeParams ?? DEFAULT_INITIALIZE;
  }

  /** The logging level the client asked for, if any. */
  logLevel(): string | undefined {
    return this.#logLevel;
  }

  /** An id for a member's question to the client, unique in this session. */
  nextQuestionId(): number {
    return ++this.#nextQuestionId;
  }

  /** Delivers a member's question or notification to the client. */
  toClient(message: WireMessage, clientId: RequestId | undefined): void {
    // What belongs to none of its requests must not reach the client before the answer to
    // its initialize (a question always belongs to one).
    if (!this.#initialized && clientId === undefined && message.id === undefined) return;
    this.#deliver(message, clientId);
  }

  /** A member answered `initialize`: the aggregate remembers it for every session. */
  learnHandshake(server: SharedServer, result: Record<string, unknown>): void {
    this.context.learnHandshake(server, result);
  }

  /** Serves the client's request `id`: its answer is delivered unless it was cancelled. */
  #serve(id: RequestId, handler: () => Promise<WireMessage | undefined>): void {
    const key = requestKey(id);
    this.#inFlight.set(key, id);
    handler().then((answer) => {
      if (this.#inFlight.get(key) !== id || this.#closed) return;
      this.#inFlight.delete(key);
      if (answer !== undefined) this.#deliver({ ...answer, id }, id);
    }, (error) => {
      this.log.error(`The aggregate failed to serve a request: ${error}`);
      if (this.#inFlight.get(key) !== id || this.#closed) return;
      this.#inFlight.delete(key);
      this.#deliver(errorResponse(id, ProtocolErrorCode.InternalError, String(error)), id);
    });
  }

  #request({ message, params }: IncomingRequest): Promise<WireMessage | undefined> {
    const id = message.id;
    const method = message.method;
    const list = LIST_KINDS[method];
    if (list !== undefined) return listPage(this, list, id, params);
    switch (method) {
      case "initialize":
        return this.#initialize(id, params);
      case "tools/call":
        return this.#byName(id, method, params, "tool");
      case "prompts/get":
        return this.#byName(id, method, params, "prompt");
      case "resources/read":
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.#byUri(id, method, params, params.uri);
      case "completion/complete":
        return this.#complete(id, params);
      case "logging/setLevel":
        return this.#setLevel(id, params);
    }
    return Promise.resolve(
      errorResponse(id, ProtocolErrorCode.MethodNotFound, `Method not found: ${method}`),
    );
  }

  async #initialize(id: RequestId, params: Params): Promise<WireMessage> {
    this.#initializeParams = params;
    const members = this.context.members;
    const answered = members.map(({ server }) => {
      const link = this.linkOf(server);
      const prepared = link.prepare();
      return server.state === "running" ? prepared : Promise.resolve();
    });
    await settlesWithin(Promise.all(answered), INITIALIZE_WAIT_MS);
    const version = typeof params.protocolVersion === "string" ? params.protocolVersion : undefined;
    const result = aggregateInitializeResult(
      version,
      members.map(({ server }) => ({
        name: server.name,
        result: this.#links.get(server)?.handshake ?? this.context.handshakeOf(server),
      })),
    );
    this.#initialized = true;
    return resultResponse(id, result);
  }

  /** Forwards a request to `link`'s member, or says why it cannot go there. */
  async #forward(
    link: MemberLink,
    id: RequestId,
    method: string,
    params: Params,
  ): Promise<WireMessage | undefined> {
    const why = link.unavailable;
    if (why !== undefined) return errorResponse(id, ProtocolErrorCode.ConnectionClosed, why);
    return await link.request(method, params, id);
  }

  /** A tool call or prompt: to the member its name's prefix names, under its own name there. */
  #byName(
    id: RequestId,
    method: string,
    params: Params,
    what: "tool" | "prompt",
  ): Promise<WireMessage | undefined> {
    const name = params.name;
    const owner = typeof name === "string"
      ? ownerOfName(this.context.members, this.context.separator, name)
      : undefined;
    if (owner === undefined) {
      const unknown = errorResponse(
        id,
        ProtocolErrorCode.InvalidParams,
        `Unknown ${what}: ${name}`,
      );
      return Promise.resolve(unknown);
    }
    return this.#forward(this.linkOf(owner.member.server), id, method, {
      ...params,
      name: owner.name,
    });
  }

  /**
   * A resource request: to the member that listed the URI or a template matching it; when
   * none did, after listing every member's resources once more.
   */
  async #byUri(
    id: RequestId,
    method: string,
    params: Params,
    uri: unknown,
  ): Promise<WireMessage | undefined> {
    if (typeof uri !== "string") {
      return errorResponse(id, ProtocolErrorCode.InvalidParams, "Invalid params: uri is missing");
    }
    const routes = this.context.routes;
    let owner = routes.ownerOfUri(uri);
    if (owner === undefined) {
      if (!await refreshResourceRoutes(this, id)) return undefined;
      owner = routes.ownerOfUri(uri);
    }
    if (owner === undefined) {
      return errorResponse(id, ProtocolErrorCode.ResourceNotFound, "Resource not found", { uri });
    }
    return await this.#forward(this.linkOf(owner), id, method, params);
  }

  /** A completion: by the prompt's prefixed name, or the resource template's (or URI's) owner. */
  async #complete(id: RequestId, params: Params): Promise<WireMessage | undefined> {
    const ref = isObject(params.ref) ? params.ref : {};
    if (ref.type === "ref/prompt") {
      const owner = typeof ref.name === "string"
        ? ownerOfName(this.context.members, this.context.separator, ref.name)
        : undefined;
      if (owner === undefined) {
        return errorResponse(id, ProtocolErrorCode.InvalidParams, `Unknown prompt: ${ref.name}`);
      }
      const link = this.linkOf(owner.member.server);
      return await this.#forward(link, id, "completion/complete", {
        ...params,
        ref: { ...ref, name: owner.name },
      });
    }
    if (ref.type === "ref/resource" && typeof ref.uri === "string") {
      const owner = this.context.routes.ownerOfTemplate(ref.uri);
      if (owner !== undefined) {
        return await this.#forward(this.linkOf(owner), id, "completion/complete", params);
      }
      return await this.#byUri(id, "completion/complete", params, ref.uri);
    }
    return errorResponse(id, ProtocolErrorCode.InvalidParams, "Invalid params: unknown ref");
  }

  /**
   * The logging level: sent to every running member, answered once all did (with the first
   * error, if any); members not running get it once they run.
   */
  async #setLevel(id: RequestId, params: Params): Promise<WireMessage | undefined> {
    if (typeof params.level !== "string") {
      return errorResponse(id, ProtocolErrorCode.InvalidParams, "Invalid params: level");
    }
    this.#logLevel = params.level;
    const answers = await Promise.all(this.context.members.map(({ server }) => {
      const link = this.linkOf(server);
      if (link.unavailable !== undefined) return Promise.resolve(undefined);
      void link.prepare();
      return link.syncLevel(id);
    }));
    const failed = answers.find((answer) => answer?.error !== undefined);
    return failed ?? resultResponse(id, {});
  }

  #notification({ message, params }: IncomingNotification): void {
    switch (message.method) {
      case "notifications/cancelled": {
        const requestId = params.requestId;
        if (typeof requestId !== "string" && typeof requestId !== "number") return;
        if (!this.#inFlight.delete(requestKey(requestId))) return;
        const reason = typeof params.reason === "string" ? params.reason : undefined;
        for (const link of this.#everyLink()) link.cancel(requestId, reason);
        return;
      }
      case "notifications/initialized":
      case "notifications/roots/list_changed":
        for (const link of this.#links.values()) link.notify(message.method, params);
        return;
    }
    this.log.debug(`Dropped ${message.method} from an aggregate client: no member it is for`);
  }

  /** The links to the members, and to those that left with calls still running. */
  #everyLink(): MemberLink[] {
    return [...this.#links.values(), ...this.#retiring];
  }

  #deliver(message: WireMessage, relatedRequestId?: RequestId): void {
    if (this.#closed) return;
    try {
      this.#sink.send(message, relatedRequestId);
    } catch (error) {
      this.log.debug(`Could not deliver a message of the aggregate to a client: ${error}`);
    }
  }
}
