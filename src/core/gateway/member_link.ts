/**
 * One aggregate session's session with one member: opened on first use with the client's own
 * opening (so that a member with a child per user starts the user's), initialised with the
 * client's `initialize` params, and carrying the aggregate session's requests under ids of its
 * own. The member's questions to the client are renumbered with ids unique in the aggregate
 * session (two members may use the same ones) and their answers mapped back.
 * @module
 */
import type { Logger } from "../../io/log.ts";
import {
  errorResponse,
  isObject,
  type Params,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import {
  type ClientSink,
  type MuxSession,
  type SessionOpening,
  SessionRefused,
  type SharedServer,
} from "../types.ts";
import { incoming } from "../bridge_session.ts";

/** What a {@linkcode MemberLink} needs of its aggregate session. */
export interface LinkHost {
  /** The params of the client's `initialize` (a default handshake before it sent one). */
  initializeParams(): Params;
  /** The logging level the client asked for, if any. */
  logLevel(): string | undefined;
  /** An id for a question to the client, unique in the aggregate session. */
  nextQuestionId(): number;
  /**
   * Delivers a message of the member to the client: a question (already renumbered) or a
   * notification; `clientId` is the client's request it belongs to, when there is one.
   */
  toClient(message: WireMessage, clientId: RequestId | undefined): void;
  /** The member answered `initialize`: what the aggregate remembers of it. */
  learnHandshake(server: SharedServer, result: Record<string, unknown>): void;
  /** Where failures to open a member session are told. */
  readonly log: Logger;
}

/** A request of the aggregate session in flight to the member. */
interface Pending {
  /** The client's request it serves (none for `initialize` and the log level). */
  readonly clientId: RequestId | undefined;
  /** Gets the member's response, or `undefined` when none is wanted any more. */
  readonly settle: (response: WireMessage | undefined) => void;
}

/** An aggregate session's session with one member. */
export class MemberLink {
  /** The member. */
  readonly server: SharedServer;
  /** The member's answer to this session's `initialize`, once it gave one. */
  handshake: Record<string, unknown> | undefined;
  readonly #host: LinkHost;
  readonly #sink: ClientSink;
  readonly #opening: SessionOpening | undefined;
  #session: MuxSession | undefined;
  /** Why the member would not take this client, when it refused. */
  #refused: string | undefined;
  /** Whether `initialize` was answered (`yes`), is in flight, or is still to send. */
  #initialized: "no" | "pending" | "yes" = "no";
  #initializing: Promise<void> = Promise.resolve();
  /** The logging level last sent. */
  #sentLevel: string | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, Pending>();
  /** The member's questions to the client: the aggregate's id to the member's. */
  readonly #asked = new Map<number, RequestId>();
  #closed = false;
  /** Set once the member left the aggregate with calls still running: why, and who to tell. */
  #retiring: { readonly reason: string; readonly closed: () => void } | undefined;

  /** A link to `server` for a client whose sink is `clientSink`; opened on first use. */
  constructor(
    server: SharedServer,
    host: LinkHost,
    clientSink: ClientSink,
    opening: SessionOpening | undefined,
  ) {
    this.server = server;
    this.#host = host;
    this.#opening = opening;
    this.#sink = {
      send: (message, relatedRequestId) => this.#fromMember(message, relatedRequestId),
      answersRequests: clientSink.answersRequests,
    };
  }

  /**
   * Why requests cannot go to the member now (it refused this client, or is not running),
   * or `undefined` when they can. Opens the member session if it was not: a member refuses a
   * client when its session opens.
   */
  get unavailable(): string | undefined {
    this.#open();
    const name = this.server.name;
    if (this.#refused !== undefined) {
      return `MCP server '${name}' refused this client: ${this.#refused}`;
    }
    const state = this.server.state;
    if (state === "running") return undefined;
    return `MCP server '${name}' is not running (${state}); the aggregate's other servers are serving`;
  }

  /**
   * Opens the member session and sends `initialize` (again, if the last one failed) and the
   * client's logging level, unless done; resolves once `initialize` is answered.
   */
  prepare(): Promise<void> {
    this.#open();
    if (this.#session === undefined) return Promise.resolve();
    if (this.#initialized === "no") {
      this.#initialized = "pending";
      this.#initializing = this.#send("initialize", this.#host.initializeParams(), undefined)
        .then((response) => {
          const result = response?.result;
          if (isObject(result)) {
            this.#initialized = "yes";
            this.handshake = result;
            this.#host.learnHandshake(this.server, result);
          } else if (!this.#closed) {
            this.#initialized = "no";
          }
        });
    }
    void this.syncLevel();
    return this.#initializing;
  }

  /**
   * Sends the client's logging level unless the member has it; resolves with the member's
   * answer, or `undefined` when nothing was sent.
   */
  syncLevel(clientId?: RequestId): Promise<WireMessage | undefined> {
    const level = this.#host.logLevel();
    if (this.#session === undefined || level === undefined || level === this.#sentLevel) {
      return Promise.resolve(undefined);
    }
    this.#sentLevel = level;
    return this.#send("logging/setLevel", { level }, clientId).then((response) => {
      if (response?.error !== undefined && this.#sentLevel === level) this.#sentLevel = undefined;
      return response;
    });
  }

  /**
   * Sends a request for the client's request `clientId`; resolves with the member's response
   * (its id this link's own), or `undefined` when no answer is wanted any more (the client
   * cancelled, the session closed).
   */
  request(method: string, params: Params, clientId: RequestId): Promise<WireMessage | undefined> {
    void this.prepare();
    return this.#send(method, params, clientId);
  }

  /** Sends a notification of the client to the member, once it was opened. */
  notify(method: string, params: Params): void {
    if (this.#initialized === "no") return;
    this.#session?.receive(incoming({ jsonrpc: "2.0", method, params }));
  }

  /**
   * Cancels what the member does for the client's request `clientId`; the answers will not
   * be wanted.
   */
  cancel(clientId: RequestId, reason: string | undefined): void {
    for (const [id, pending] of [...this.#pending]) {
      if (pending.clientId !== clientId) continue;
      this.#pending.delete(id);
      this.#session?.receive(incoming({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: reason === undefined ? { requestId: id } : { requestId: id, reason },
      }));
      pending.settle(undefined);
    }
    this.#closeIfRetired();
  }

  /** How many of the client's calls run on the member now. */
  get callsRunning(): number {
    return this.#pending.size;
  }

  /**
   * The member left the aggregate (a reload removed or replaced it): no new request comes
   * here, and the calls still running finish, their questions and answers passed on as
   * before; then (or at once when none runs) the link closes with `reason`. `closed` is told
   * then. A member that is stopped meanwhile answers what still runs with an error.
   * Returns whether the link is still open.
   */
  retire(reason: string, closed: () => void): boolean {
    if (this.#closed) return false;
    this.#retiring = { reason, closed };
    return this.#closeIfRetired();
  }

  /** Closes a retiring link whose last call ended; returns whether it is still open. */
  #closeIfRetired(): boolean {
    const retiring = this.#retiring;
    if (retiring === undefined || this.#pending.size > 0) return !this.#closed;
    this.close(retiring.reason);
    retiring.closed();
    return false;
  }

  /** Passes the client's answer to question `id` on, if it is one of this member's. */
  answered(message: WireMessage): boolean {
    const id = message.id;
    const memberId = typeof id === "number" ? this.#asked.get(id) : undefined;
    if (memberId === undefined) return false;
    this.#asked.delete(id as number);
    this.#session?.receive(incoming({ ...message, id: memberId }));
    return true;
  }

  /**
   * Closes the member session, which cancels its requests at the member. With `reason` (the
   * member left the aggregate) the client's requests get an error saying it and its questions
   * are withdrawn; without, no answer is wanted (the client is gone).
   */
  close(reason?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session?.close();
    const pending = [...this.#pending];
    this.#pending.clear();
    for (const [id, { clientId, settle }] of pending) {
      const refusal = errorResponse(id, ProtocolErrorCode.ConnectionClosed, reason ?? "");
      settle(reason !== undefined && clientId !== undefined ? refusal : undefined);
    }
    if (reason === undefined) return;
    for (const questionId of this.#asked.keys()) {
      this.#host.toClient({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: questionId, reason },
      }, undefined);
    }
    this.#asked.clear();
  }

  #open(): void {
    if (this.#session !== undefined || this.#refused !== undefined || this.#closed) return;
    try {
      this.#session = this.server.openSession(this.#sink, this.#opening);
    } catch (error) {
      if (!(error instanceof SessionRefused)) throw error;
      this.#refused = error.message;
      this.#host.log.info(
        `MCP server '${this.server.name}' refused an aggregate client: ${error.message}`,
      );
    }
  }

  #send(
    method: string,
    params: Params,
    clientId: RequestId | undefined,
  ): Promise<WireMessage | undefined> {
    const session = this.#session;
    if (session === undefined || this.#closed) {
      const why = this.unavailable ?? `MCP server '${this.server.name}' left the aggregate`;
      return Promise.resolve(errorResponse(null, ProtocolErrorCode.ConnectionClosed, why));
    }
    const { promise, resolve } = Promise.withResolvers<WireMessage | undefined>();
    const id = ++this.#nextId;
    this.#pending.set(id, { clientId, settle: resolve });
    session.receive(incoming({ jsonrpc: "2.0", id, method, params }));
    return promise;
  }

  #fromMember(message: WireMessage, relatedRequestId: RequestId | undefined): void {
    if (this.#closed) return;
    const related = typeof relatedRequestId === "number"
      ? this.#pending.get(relatedRequestId)?.clientId
      : undefined;
    if (message.method === undefined) {
      const id = message.id;
      const pending = typeof id === "number" ? this.#pending.get(id) : undefined;
      if (pending === undefined) return;
      this.#pending.delete(id as number);
      pending.settle(message);
      this.#closeIfRetired();
      return;
    }
    if (message.id !== undefined && message.id !== null) {
      const questionId = this.#host.nextQuestionId();
      this.#asked.set(questionId, message.id);
      return this.#host.toClient({ ...message, id: questionId }, related);
    }
    if (message.method === "notifications/cancelled") {
      // The member withdrew a question: the client knows it by the aggregate's id.
      const memberId = message.params?.requestId;
      for (const [questionId, asked] of this.#asked) {
        if (asked !== memberId) continue;
        this.#asked.delete(questionId);
        return this.#host.toClient({
          ...message,
          params: { ...message.params, requestId: questionId },
        }, related);
      }
      return;
    }
    this.#host.toClient(message, related);
  }
}
