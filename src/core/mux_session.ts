/**
 * The records the multiplexer keeps: one per client session, one per request in flight, and
 * how a message of the upstream is tied to the request it belongs to.
 * @module
 */
import type { Logger } from "../io/log.ts";
import type { Params, RequestId, WireMessage } from "../protocol/jsonrpc.ts";
import type { ClientHandshake, SessionContext } from "../protocol/handshake.ts";
import type { CallRecord, ServerCalls } from "./observe/call_watch.ts";
import type { ClientSink } from "./types.ts";

/** One client session of the multiplexer. */
export class Session implements SessionContext {
  /** The session's number, unique within its multiplexer. */
  readonly id: number;
  /** Where its messages go. */
  readonly sink: ClientSink;
  /** This session's requests awaiting a response, oldest first: client id to upstream id. */
  readonly inFlight = new Map<RequestId, number>();
  /** What its client said in `initialize`, once it did. */
  handshake: ClientHandshake | undefined;
  /** The logging level its client asked for, if any. */
  logLevel: string | undefined;
  /** Whether its `initialize` was answered: before that, no broadcast may reach it. */
  initialized = false;
  /** Whether it was closed: nothing more is taken from or sent to its client. */
  closed = false;
  /** How the call log names its client (see `SessionOpening`). */
  readonly client: string | undefined;
  /** Told of its calls, when they are observed. */
  readonly calls: ServerCalls | undefined;
  readonly #log: Logger;
  readonly #serverName: string;

  /**
   * Session `id` of the server called `serverName`, delivering to `sink`; its calls are told
   * to `observe.calls` as the client `observe.client`.
   */
  constructor(
    id: number,
    sink: ClientSink,
    log: Logger,
    serverName: string,
    observe: { client?: string; calls?: ServerCalls } = {},
  ) {
    this.id = id;
    this.sink = sink;
    this.#log = log;
    this.#serverName = serverName;
    this.client = observe.client;
    this.calls = observe.calls;
  }

  /**
   * Hands `message` to the client (see {@linkcode ClientSink.send}). A broken sink is the
   * client's end going away, which its transport reports: here it is only logged.
   */
  deliver(message: WireMessage, relatedRequestId?: RequestId, text?: string): void {
    try {
      this.sink.send(message, relatedRequestId, text);
    } catch (error) {
      this.#log.debug(
        `Could not deliver a message from '${this.#serverName}' to a client: ${error}`,
      );
    }
  }

  /** The client id of the oldest request in flight, to relate notifications to. */
  oldestClientId(): RequestId | undefined {
    for (const id of this.inFlight.keys()) return id;
    return undefined;
  }
}

/** A request in flight upstream: a client's, forwarded, or one of the proxy's own. */
export interface PendingRequest {
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
   * `MultiplexerOptions`); `Infinity` for requests without a limit.
   */
  deadline: number;
  /** Whether its handler may ask the client something (see `Turns`). */
  asks: boolean;
  /** The call as its observers recorded it, when calls are observed. */
  call?: CallRecord;
}

/** What the multiplexer's parts read of it (the multiplexer alone changes its traffic). */
export interface MuxContext {
  /** The server's name, for logs and errors. */
  readonly name: string;
  /** The server's logger. */
  readonly log: Logger;
  /** Requests in flight by upstream id, in the order they were sent. */
  readonly pending: ReadonlyMap<number, PendingRequest>;
  /** Sessions with requests in flight. */
  readonly busy: ReadonlySet<Session>;
  /** Every open session. */
  readonly sessions: ReadonlySet<Session>;
}

/** The session a message of the upstream belongs to, and its client's id of the request. */
export interface Owner {
  /** The session the message goes to. */
  readonly session: Session;
  /** Its client's id of the request, when the message belongs to one. */
  readonly clientId: RequestId | undefined;
}

/**
 * The client's request in flight that a message of the upstream names: by `relatedTo` (the
 * request's upstream id, when the upstream can tell) or the progress token in its `_meta`
 * (which is the upstream id too).
 */
export function requestNamed(
  pending: MuxContext["pending"],
  params: Params,
  relatedTo: RequestId | undefined,
): Owner | undefined {
  for (const id of [relatedTo, params._meta?.progressToken]) {
    const request = typeof id === "number" ? pending.get(id) : undefined;
    if (request?.session) return { session: request.session, clientId: request.clientId };
  }
  return undefined;
}
