/**
 * Where the upstream's notifications go: progress and logs to the session of the request they
 * belong to, resource updates to the sessions subscribed, list changes to every session, and
 * a cancelled question to the client it was asked of.
 * @module
 */
import type { IncomingNotification, Params, RequestId } from "../protocol/jsonrpc.ts";
import { admits } from "../protocol/log_levels.ts";
import { type MuxContext, type Owner, requestNamed, type Session } from "./mux_session.ts";
import type { Questions } from "./questions.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** What {@linkcode UpstreamNotifications} needs of the multiplexer. */
export interface NotificationsHost extends MuxContext {
  /** Who subscribed to which resource. */
  readonly subscriptions: Subscriptions<Session>;
  /** The upstream's questions in flight (a cancellation may withdraw one). */
  readonly questions: Questions;
}

/** Routes the notifications of one upstream to client sessions. */
export class UpstreamNotifications {
  readonly #host: NotificationsHost;

  /** Routes for the upstream of `host`. */
  constructor(host: NotificationsHost) {
    this.#host = host;
  }

  /**
   * Delivers a notification of the upstream. `relatedTo` is the upstream id of the request it
   * belongs to, when the upstream can tell.
   */
  route(incoming: IncomingNotification, relatedTo?: RequestId): void {
    const method = incoming.message.method;
    switch (method) {
      case "notifications/progress":
        return this.#progress(incoming);
      case "notifications/message":
        return this.#logMessage(incoming, relatedTo);
      case "notifications/resources/updated":
        return this.#resourceUpdated(incoming);
      case "notifications/cancelled":
        return this.#host.questions.withdrawnUpstream(incoming);
    }
    if (method.endsWith("/list_changed")) {
      // They concern every session that has been initialised (a notification must not come
      // before the initialize answer).
      for (const session of this.#host.sessions) {
        if (session.initialized) session.deliver(incoming.message);
      }
      return;
    }
    // One this proxy does not know may be about one client's request: only its session gets it.
    const owner = this.#ownerOf(incoming.params, relatedTo);
    if (owner) return owner.session.deliver(incoming.message, owner.clientId);
    this.#host.log.debug(
      `Dropped ${method} from '${this.#host.name}': no client session it belongs to`,
    );
  }

  /**
   * The session a notification of the upstream belongs to: that of the request it names (see
   * {@linkcode requestNamed}), else the only session with requests in flight; `undefined` when
   * it cannot be told.
   */
  #ownerOf(params: Params, relatedTo: RequestId | undefined): Owner | undefined {
    const host = this.#host;
    const named = requestNamed(host.pending, params, relatedTo);
    if (named) return named;
    if (host.busy.size !== 1) return undefined;
    const session: Session = host.busy.values().next().value!;
    return { session, clientId: session.oldestClientId() };
  }

  #progress({ message, params }: IncomingNotification): void {
    const token = params.progressToken;
    const request = typeof token === "number" ? this.#host.pending.get(token) : undefined;
    if (!request?.session) return;
    const restored = { ...message, params: { ...params, progressToken: request.progressToken } };
    request.session.deliver(restored, request.clientId);
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
        owner.session.deliver(message, owner.clientId);
      }
      return;
    }
    if (this.#host.busy.size > 0) {
      this.#host.log.debug(
        `Dropped a log message from '${this.#host.name}': no client session it belongs to`,
      );
      return;
    }
    for (const session of this.#host.sessions) {
      if (session.initialized && admits(session.logLevel, params.level)) {
        session.deliver(message);
      }
    }
  }

  #resourceUpdated({ message, params }: IncomingNotification): void {
    const uri = params.uri;
    if (typeof uri !== "string") return;
    for (const session of this.#host.subscriptions.subscribers(uri)) session.deliver(message);
  }
}
