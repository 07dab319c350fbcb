/**
 * Server-to-client requests (sampling, elicitation, roots), the upstream's questions to its
 * clients. A question goes to the session whose request caused it, or is refused to the
 * upstream; it never goes to a guess. A legacy stdio server does not say which request caused
 * it, so the multiplexer makes that knowable: once the upstream has asked a client anything,
 * requests that may ask reach it from one session at a time (see {@linkcode Turns}), and the
 * session holding that turn is the one asked; one whose client leaves a question unanswered
 * too long while others wait has its calls cancelled.
 * @module
 */
import {
  errorResponse,
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
import { type MuxContext, requestNamed, type Session } from "./mux_session.ts";
import type { Turns } from "./turns.ts";

/** What {@linkcode Questions} needs of the multiplexer. */
export interface QuestionsHost extends MuxContext {
  /** Whose turn it is to send calls that may ask. */
  readonly turns: Turns<Session>;
  /** Writes to the upstream, if one is attached (for `session`, when it is a client's). */
  toUpstream(message: WireMessage, session?: Session): void;
  /** A proxy-unique id: the one the client sees for a question. */
  nextId(): number;
  /** Ends a client's call: the upstream gets a cancellation, the client an error. */
  cancelCall(session: Session, clientId: RequestId, upstreamId: number, reason: string): void;
}

/** A question in flight to a client. */
interface Question {
  /** The upstream's id for its request. */
  upstreamId: RequestId;
  session: Session;
}

/** The upstream's questions in flight, each tied to the session it was asked. */
export class Questions {
  readonly #host: QuestionsHost;
  /** Questions in flight, by the id the client sees. */
  readonly #open = new Map<number, Question>();

  /** The questions of the upstream of `host`. */
  constructor(host: QuestionsHost) {
    this.#host = host;
  }

  /**
   * Routes a question of the upstream to the session it belongs to: the one whose request
   * `relatedTo` names when the upstream says, else the one that can be told from the traffic;
   * refused with an error otherwise.
   */
  ask({ message }: IncomingRequest, relatedTo?: RequestId): void {
    const host = this.#host;
    const upstreamId = message.id;
    if (message.method === "ping") {
      // The proxy is the upstream's client, and it is alive.
      return host.toUpstream(resultResponse(upstreamId, {}));
    }
    if (host.busy.size === 0 && message.method === "roots/list") {
      // Servers ask for roots as soon as they are initialised, before any client is there:
      // answer as a client that has none yet.
      host.log.debug(`Answered roots/list from '${host.name}' with no roots: no client asked`);
      return host.toUpstream(resultResponse(upstreamId, { roots: [] }));
    }
    if (host.turns.learnThatServerAsks()) {
      host.log.info(
        `MCP server '${host.name}' asks its clients (${message.method}): from now on it gets ` +
          "the calls of one client session at a time, so that each question reaches the client " +
          "that caused it",
      );
    }
    const session = this.#sessionAsked(message.params ?? {}, relatedTo);
    if (typeof session === "string") return this.#refuse(message, session);
    if (session.sink.answersRequests === false) {
      // The answer would come on another POST, which is another session: refuse at once
      // rather than let the upstream wait for ever.
      return this.#refuse(message, "its client cannot answer (stateless Streamable HTTP)");
    }
    const id = host.nextId();
    this.#open.set(id, { upstreamId, session });
    host.turns.questionAsked(session);
    session.deliver({ ...message, id }, session.oldestClientId());
  }

  /** A client's answer to a question: it goes upstream under the upstream's id. */
  answered(session: Session, { message }: IncomingResponse): void {
    const id = message.id;
    const question = typeof id === "number" ? this.#open.get(id) : undefined;
    if (typeof id !== "number" || !question || question.session !== session) {
      this.#host.log.debug(`Dropped a response to unknown request ${id} for '${this.#host.name}'`);
      return;
    }
    this.#open.delete(id);
    this.#host.turns.questionClosed(session);
    this.#host.toUpstream({ ...message, id: question.upstreamId }, session);
  }

  /** The upstream gave up on one of its questions: its client hears so. */
  withdrawnUpstream({ message, params }: IncomingNotification): void {
    for (const [id, question] of this.#open) {
      if (question.upstreamId !== params.requestId) continue;
      this.#open.delete(id);
      this.#host.turns.questionClosed(question.session);
      return question.session.deliver({ ...message, params: { ...params, requestId: id } });
    }
  }

  /**
   * Withdraws the questions asked of `session`: the upstream gets an error saying `reason` for
   * each, and the client a cancellation, unless the session is closed (its client is gone).
   */
  withdraw(session: Session, reason: string): void {
    for (const [id, question] of this.#open) {
      if (question.session !== session) continue;
      this.#open.delete(id);
      const refusal = errorResponse(question.upstreamId, ProtocolErrorCode.InternalError, reason);
      this.#host.toUpstream(refusal);
      if (session.closed) continue;
      session.deliver({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: id, reason },
      });
    }
  }

  /**
   * Cancels the calls of a session that kept the turn while its client left a question
   * unanswered for `waitedMs`, other sessions' calls waiting: its open questions are withdrawn
   * (the server gets an error for each, the client a cancellation), its calls that may ask are
   * cancelled (the server gets a cancellation, the client an error).
   */
  cancelWaiting(session: Session, waitedMs: number): void {
    const host = this.#host;
    const seconds = waitedMs / 1000;
    const reason = `mcp-proxy cancelled the call: it waited ${seconds} s for this client's ` +
      `answer to a question of MCP server '${host.name}' while other clients waited for it`;
    host.log.warning(
      `Cancelled a call to '${host.name}' that waited ${seconds} s on its client's answer ` +
        "while other clients' calls waited for their turn",
    );
    this.withdraw(session, reason);
    for (const [clientId, upstreamId] of [...session.inFlight]) {
      if (host.pending.get(upstreamId)?.asks) {
        host.cancelCall(session, clientId, upstreamId, reason);
      }
    }
  }

  /** The upstream went away: every client asked gets a cancellation saying `reason`. */
  cancelAll(reason: string): void {
    for (const [id, { session }] of this.#open) {
      session.deliver({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: id, reason },
      });
    }
    this.#open.clear();
  }

  /** Answers a question with an error saying why it cannot be relayed. */
  #refuse(message: RequestMessage, why: string): void {
    this.#host.log.warning(`Refused ${message.method} from '${this.#host.name}': ${why}`);
    const reason = `mcp-proxy cannot route ${message.method}: ${why}`;
    this.#host.toUpstream(errorResponse(message.id, ProtocolErrorCode.InternalError, reason));
  }

  /**
   * The session a question belongs to, or why none can be told. The upstream may say
   * (`relatedTo`, from an era adapter, or a progress token in `_meta` naming a request in
   * flight); otherwise it is the only session with requests in flight, or the only one whose
   * requests in flight may ask. Anything else is refused: a question must never reach another
   * client's session.
   */
  #sessionAsked(params: Params, relatedTo: RequestId | undefined): Session | string {
    const host = this.#host;
    const named = requestNamed(host.pending, params, relatedTo)?.session;
    if (named) return named;
    const busy = host.busy.size;
    if (busy === 0) return "no client request is in flight";
    if (busy === 1) return host.busy.values().next().value!;
    const asker = host.turns.onlyAsker();
    if (asker) return asker;
    if (host.turns.askers === 0) {
      return `none of the ${busy} client sessions with requests in flight made a call ` +
        "that may ask";
    }
    return `${host.turns.askers} client sessions have calls in flight that may have caused it ` +
      "(from now on their calls reach the server one session at a time)";
  }
}
