/**
 * What sessions set on the shared upstream: resource subscriptions and the logging level.
 * Each is kept per session and applied upstream once (a URI subscribed while any session
 * holds it, the most verbose level any session wants), and again after a restart.
 * @module
 */
import {
  errorResponse,
  type IncomingRequest,
  type Params,
  ProtocolErrorCode,
  resultResponse,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import { levelRank, UpstreamLogLevel } from "../protocol/log_levels.ts";
import type { MuxContext, Session } from "./mux_session.ts";
import { SESSION_SUBSCRIPTIONS_FULL, Subscriptions } from "./subscriptions.ts";

/** What {@linkcode SessionSettings} needs of the multiplexer. */
export interface SettingsHost {
  /** Every open session. */
  readonly sessions: MuxContext["sessions"];
  /** Whether the upstream is open; a change made before is applied when it opens. */
  isOpen(): boolean;
  /** Sends a client's request to the open upstream; `onSettled` gets its response. */
  forward(
    session: Session,
    incoming: IncomingRequest,
    onSettled?: (response: WireMessage | undefined) => void,
  ): void;
  /** Sends a request of the proxy's own whose failure only needs logging. */
  background(method: string, params: Params): void;
}

/** The subscriptions and logging levels of one upstream's sessions. */
export class SessionSettings {
  /** Who subscribed to which resource. */
  readonly subscriptions = new Subscriptions<Session>();
  readonly #logLevel = new UpstreamLogLevel();
  readonly #host: SettingsHost;

  /** The settings of the sessions of `host`. */
  constructor(host: SettingsHost) {
    this.#host = host;
  }

  /** Applies the settings to an upstream that just opened (a new one, or restarted). */
  reapply(): void {
    for (const uri of this.subscriptions.uris()) {
      this.#host.background("resources/subscribe", { uri });
    }
    const level = this.#logLevel.level;
    if (level !== undefined) this.#host.background("logging/setLevel", { level });
  }

  /** A client's `logging/setLevel`: answered here, the upstream asked only if it changes. */
  setLogLevel(session: Session, { message, params }: IncomingRequest): void {
    const id = message.id;
    if (levelRank(params.level) === undefined) {
      const error = errorResponse(id, ProtocolErrorCode.InvalidParams, "Unknown logging level");
      return session.deliver(error, id);
    }
    session.logLevel = params.level as string;
    session.deliver(resultResponse(id, {}), id);
    this.#syncLogLevel();
  }

  /** A client's `resources/subscribe`: forwarded only for the first session to hold the URI. */
  subscribe(session: Session, incoming: IncomingRequest): void {
    const uri = incoming.params.uri;
    if (typeof uri !== "string") return this.#host.forward(session, incoming);
    if (!this.subscriptions.admits(session, uri)) {
      const id = incoming.message.id;
      const error = errorResponse(id, ProtocolErrorCode.InvalidParams, SESSION_SUBSCRIPTIONS_FULL);
      return session.deliver(error, id);
    }
    if (!this.subscriptions.add(session, uri)) {
      const id = incoming.message.id;
      return session.deliver(resultResponse(id, {}), id);
    }
    this.#host.forward(session, incoming, (response) => {
      if (response === undefined || response.error) this.subscriptions.remove(session, uri);
    });
  }

  /** A client's `resources/unsubscribe`. */
  unsubscribe(session: Session, incoming: IncomingRequest): void {
    const uri = incoming.params.uri;
    if (typeof uri !== "string") return this.#host.forward(session, incoming);
    // Only what this session holds is released: another session's subscription to the same
    // URI must stay upstream.
    if (this.subscriptions.remove(session, uri)) return this.#host.forward(session, incoming);
    const id = incoming.message.id;
    session.deliver(resultResponse(id, {}), id);
  }

  /** A session closed: what it alone held is released upstream. */
  forget(session: Session): void {
    for (const uri of this.subscriptions.removeSession(session)) {
      if (this.#host.isOpen()) this.#host.background("resources/unsubscribe", { uri });
    }
    // Only a session that set a level can change the upstream's (a look at every session).
    if (session.logLevel !== undefined) this.#syncLogLevel();
  }

  /** Asks the upstream for the most verbose level any session wants; sessions filter the rest. */
  #syncLogLevel(): void {
    const levels = [...this.#host.sessions].map((session) => session.logLevel);
    const level = this.#logLevel.update(levels);
    if (level !== undefined && this.#host.isOpen()) {
      this.#host.background("logging/setLevel", { level });
    }
  }
}
