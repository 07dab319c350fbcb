/**
 * Modern (2026-07-28) requests served by a legacy server that is shared through the
 * multiplexer: each request becomes traffic on a client session of the proxy's own, and the
 * answers come back dressed as modern ones.
 *
 * - Every request opens a multiplexer session, "initialises" it from the envelope (the
 *   multiplexer answers from the server's cached handshake, so this costs no round trip to
 *   the child), applies the request's log level, and forwards the request with the envelope
 *   stripped. Progress, and logs when a level was asked for, go to the request's own stream.
 * - `server/discover` is answered from the cached `initialize` result.
 * - `subscriptions/listen` keeps its session open and relays the list-changed and resource
 *   notifications the client opted in to, acknowledged first and tagged with its id.
 * - A server-to-client request of the child during a call (elicitation, sampling, roots)
 *   becomes a multi round-trip: the child's call stays parked here, the client gets
 *   `input_required` with a sealed `requestState`, and its retry feeds the answers back.
 *   A parked call the client abandons is cancelled to the child and freed after a timeout.
 *   Each state opens one round only, for the client it was handed to; how many calls may be
 *   in a multi round-trip is capped per client and for the whole process.
 * @module
 */
import type { Logger } from "../io/log.ts";
import type { ClientSink, MuxSession } from "./types.ts";
import {
  classify,
  type ErrorObject,
  errorResponse,
  type Incoming,
  isObject,
  ProtocolErrorCode,
  type RequestId,
  type RequestMessage,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import {
  type Envelope,
  type JsonObject,
  LIST_CHANGED_FLAGS,
  listChangedFlags,
  metaOf,
  stripEnvelope,
  SUBSCRIPTION_ID_KEY,
} from "../protocol/envelope.ts";
import {
  discoverFromInitialize,
  INPUT_REQUIRED_METHODS,
  modernError,
  modernResult,
  serverInfoOf,
} from "../protocol/results.ts";
import type { ModernPost } from "../protocol/http_classify.ts";
import { credentialOf, type ParkedRef, RequestStateSealer } from "../protocol/request_state.ts";

/** Opens client sessions on a shared server (what {@linkcode ModernBridge} needs of it). */
export interface SessionOpener {
  /** Opens a client session that delivers to `sink`. */
  openSession(sink: ClientSink): MuxSession;
  /** The era the server behind the sessions speaks, once known. */
  readonly era?: "legacy" | "modern";
}

/** Where the answer to one modern request goes: its notifications, then its response. */
export interface ModernReply {
  /** Delivers one message for the request (the last one is its response). */
  send(message: WireMessage): void;
}

/** A modern request being served; closing it tells the bridge the client went away. */
export interface ModernCall {
  /** The client is gone (its POST ended): stop, and cancel the work unless it is parked. */
  close(): void;
}

/** Tuning of a {@linkcode ModernBridge}. */
export interface ModernBridgeOptions {
  /** Where abandoned parked calls are reported. */
  readonly log: Logger;
  /** The legacy protocol version the proxy's own sessions ask for. */
  readonly legacyVersion: string;
  /** Every version the endpoint serves, for `server/discover`. */
  readonly supportedVersions: readonly string[];
  /** How long a call waiting for the client's input is kept (default 5 minutes). */
  readonly parkTimeoutMs?: number;
  /** How long the child's input requests are gathered into one round (default 50 ms). */
  readonly gatherMs?: number;
  /** Where calls in a multi round-trip are counted (default: the process's own). */
  readonly parkedCalls?: ParkedCalls;
}

/**
 * Most calls of one client in a multi round-trip at once: from their first `input_required`
 * to their end. A client is the credential its requests present (see `credentialOf`); every
 * client without one counts as one.
 */
export const MAX_PARKED_CALLS_PER_CLIENT = 100;

/** Most calls in a multi round-trip at once, of every client and server of the process. */
export const MAX_PARKED_CALLS = 1_000;

/**
 * The count of calls in a multi round-trip, in all and by client: what bounds the calls that
 * clients who never come back leave parked (each holds a session with the child until its
 * park timeout).
 */
export class ParkedCalls {
  readonly #byClient = new Map<string, number>();
  readonly #perClient: number;
  readonly #max: number;
  #total = 0;

  /** A count that admits `perClient` calls per client and `max` in all. */
  constructor(perClient = MAX_PARKED_CALLS_PER_CLIENT, max = MAX_PARKED_CALLS) {
    this.#perClient = perClient;
    this.#max = max;
  }

  /** Counts a call of `client` in; returns why it cannot be (then nothing was counted). */
  enter(client: string): string | undefined {
    const held = this.#byClient.get(client) ?? 0;
    if (held >= this.#perClient) {
      return `mcp-proxy: this client already has ${held} calls waiting for its input, the most ` +
        "it may have; answer them (or let them expire) before starting another";
    }
    if (this.#total >= this.#max) {
      return `mcp-proxy: ${this.#total} calls are waiting for their clients' input, the most ` +
        "it keeps; try again later";
    }
    this.#byClient.set(client, held + 1);
    this.#total++;
    return undefined;
  }

  /** Counts a call of `client` out (it ended). */
  leave(client: string): void {
    const held = this.#byClient.get(client);
    if (held === undefined) return;
    if (held > 1) this.#byClient.set(client, held - 1);
    else this.#byClient.delete(client);
    this.#total--;
  }
}

/** The count every bridge of the process shares, so that its caps hold for the process. */
const PROCESS_PARKED_CALLS = new ParkedCalls();

/** Ids of the proxy's own requests on a bridge session: never a client's (those are numbers or the client's strings). */
const INITIALIZE_ID = "mcp-proxy:initialize";
const SET_LEVEL_ID = "mcp-proxy:setLevel";
const SUBSCRIBE_ID = "mcp-proxy:subscribe";

/** The client capability each server-to-client request needs. */
const CAPABILITY_OF: Readonly<Record<string, string>> = {
  "elicitation/create": "elicitation",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

/** Which listen filter flag lets each change notification through. */
const LISTEN_FLAG_OF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(LIST_CHANGED_FLAGS).map((
    [flag, area],
  ) => [`notifications/${area}/list_changed`, flag]),
);

/** A message the bridge makes, sorted as the multiplexer takes it. */
function incoming(message: WireMessage): Incoming {
  const sorted = classify(message);
  if (sorted.kind === "invalid") {
    throw new Error(`mcp-proxy made an invalid message: ${sorted.error.message}`);
  }
  return sorted;
}

/** Serves modern requests through client sessions of one shared legacy server. */
export class ModernBridge {
  readonly #server: SessionOpener;
  readonly #options: Required<ModernBridgeOptions>;
  readonly #sealer = new RequestStateSealer();
  /** Calls waiting for a client's retry, by parked id: a retry finds its call in one look. */
  readonly #parked = new Map<string, BridgedRequest>();

  /** A bridge to `server`. */
  constructor(server: SessionOpener, options: ModernBridgeOptions) {
    this.#server = server;
    this.#options = {
      parkTimeoutMs: 300_000,
      gatherMs: 50,
      parkedCalls: PROCESS_PARKED_CALLS,
      ...options,
    };
  }

  /** How many calls wait for a client's input (for tests and status). */
  get parkedCount(): number {
    return this.#parked.size;
  }

  /** Serves one modern request; `reply` gets its messages. */
  serve(post: ModernPost, reply: ModernReply): ModernCall {
    const { request, envelope } = post;
    const params = isObject(request.params) ? request.params : {};
    if (request.method === "subscriptions/listen") {
      const refusal = listenRefusal(request.id, params);
      if (refusal) {
        reply.send(refusal);
        return { close() {} };
      }
      return new ListenStream(this.#server, request.id, params, envelope, reply, this.#options);
    }
    // A modern child gets modern requests as they are: its requestState is its own.
    const relay = this.#server.era === "modern";
    const client = () => post.headers === undefined ? "" : credentialOf(post.headers);
    if (!relay && typeof params.requestState === "string") {
      return this.#resume(request, params, reply, client());
    }
    return new BridgedRequest(this, this.#server, request, params, envelope, reply, {
      relay,
      client,
    });
  }

  /**
   * Called by a call whose child asked for input: keeps the call until the client's retry
   * (or the park timeout) and seals a state for this round, for `client` alone.
   */
  async park(call: BridgedRequest, ref: ParkedRef, client: string): Promise<string> {
    const { parkedId, method } = ref;
    this.#parked.set(parkedId, call);
    call.startParkTimer(this.#options.parkTimeoutMs, () => {
      if (this.#parked.get(parkedId) !== call) return;
      this.#parked.delete(parkedId);
      this.#options.log.info(
        `A ${method} call waited ${Math.round(this.#options.parkTimeoutMs / 1000)} s for the ` +
          "client's input; cancelling it",
      );
      call.abandon();
    });
    return await this.#sealer.seal(ref, client, this.#options.parkTimeoutMs);
  }

  /** Forgets a parked call (it ended). */
  unpark(parkedId: string, call: BridgedRequest): void {
    if (this.#parked.get(parkedId) === call) this.#parked.delete(parkedId);
  }

  /** The options every call shares. */
  get options(): Required<ModernBridgeOptions> {
    return this.#options;
  }

  /**
   * A retry carrying a `requestState`: the parked call it names takes it over, if the state
   * is of the round the call waits on and `client` is the one it was handed to.
   */
  #resume(
    request: RequestMessage,
    params: JsonObject,
    reply: ModernReply,
    client: string,
  ): ModernCall {
    const retry = new Retry();
    this.#sealer.open(params.requestState as string, client).then((ref) => {
      if (retry.closed) return;
      const call = ref?.method === request.method ? this.#parked.get(ref.parkedId) : undefined;
      if (!ref || !call || call.round !== ref.round) {
        reply.send(errorResponse(
          request.id,
          ProtocolErrorCode.InvalidParams,
          "Invalid requestState: it was altered, has expired, was used already, or belongs to " +
            "another request or client",
        ));
        return;
      }
      this.#parked.delete(ref.parkedId);
      retry.call = call;
      call.resume(request.id, params.inputResponses, reply);
    }).catch((error) => {
      this.#options.log.error(`A retry of a ${request.method} call failed: ${describe(error)}`);
      retry.close();
    });
    return retry;
  }
}

/** An error in one line, for the log. */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A retry whose `requestState` is being checked, then the call it resumed. */
class Retry implements ModernCall {
  closed = false;
  call: BridgedRequest | undefined;

  close(): void {
    this.closed = true;
    this.call?.close();
  }
}

/** One modern request (and its retries) carried over a multiplexer session. */
export class BridgedRequest implements ModernCall {
  readonly #bridge: ModernBridge;
  /** The child is modern too: its answers go back as they are. */
  readonly #relay: boolean;
  readonly #session: MuxSession;
  readonly #method: string;
  readonly #envelope: Envelope;
  /** The id the multiplexer knows the request by: the client's first id. */
  readonly #muxId: RequestId;
  /** The id of the client's latest attempt, which the answer must carry. */
  #clientId: RequestId;
  #reply: ModernReply;
  #serverInfo: JsonObject | undefined;
  /** Input requests of the child not yet answered, by the key the client sees. */
  readonly #inputs = new Map<string, { id: RequestId; method: string; params: unknown }>();
  #nextInputKey = 0;
  #gatherTimer: ReturnType<typeof setTimeout> | undefined;
  #parkTimer: ReturnType<typeof setTimeout> | undefined;
  /** Who sent the request (see `credentialOf`), worked out when it is first needed. */
  readonly #whoSent: () => string;
  /** Once the call entered a multi round-trip: its parked id, and whom it is counted against. */
  #parking: { readonly id: string; readonly client: string } | undefined;
  #round = 0;
  /** running: the child works on it; parked: it waits for the client's retry; done: answered. */
  #state: "running" | "parked" | "done" = "running";

  /**
   * Sends `request` on a new session (a legacy child's `server/discover`: the handshake only).
   * `relay`: the child is modern too; `client` tells who sent the request.
   */
  constructor(
    bridge: ModernBridge,
    server: SessionOpener,
    request: RequestMessage,
    params: JsonObject,
    envelope: Envelope,
    reply: ModernReply,
    { relay, client }: { relay: boolean; client: () => string },
  ) {
    this.#bridge = bridge;
    this.#relay = relay;
    this.#whoSent = client;
    this.#method = request.method;
    this.#envelope = envelope;
    this.#muxId = request.id;
    this.#clientId = request.id;
    this.#reply = reply;
    this.#session = server.openSession({
      send: (message, relatedRequestId) => this.#fromMux(message, relatedRequestId),
    });
    openSessionFor(this.#session, envelope, bridge.options.legacyVersion);
    if (request.method === "server/discover" && !relay) return;
    this.#session.receive(incoming({
      jsonrpc: "2.0",
      id: request.id,
      method: request.method,
      params: relay ? params : stripEnvelope(params),
    }));
  }

  /** The client went away. A parked call stays (the retry comes on another POST). */
  close(): void {
    if (this.#state !== "running") return;
    this.#finish();
  }

  /** The client's retry: its id answers from now on, its input responses go to the child. */
  resume(clientId: RequestId, inputResponses: unknown, reply: ModernReply): void {
    clearTimeout(this.#parkTimer);
    this.#clientId = clientId;
    this.#reply = reply;
    this.#state = "running";
    const responses = isObject(inputResponses) ? inputResponses : {};
    for (const [key, input] of [...this.#inputs]) {
      if (!Object.hasOwn(responses, key)) continue;
      const answer = responses[key];
      this.#inputs.delete(key);
      this.#session.receive(incoming(
        isObject(answer) ? { jsonrpc: "2.0", id: input.id, result: answer } : errorResponse(
          input.id,
          ProtocolErrorCode.InvalidParams,
          `Invalid input response '${key}'`,
        ),
      ));
    }
    // What the client left unanswered is asked again (the spec's SHOULD, not an error).
    if (this.#inputs.size > 0) this.#askForInputContained();
  }

  /** The round of input requests the call waits on (a state of another one is spent). */
  get round(): number {
    return this.#round;
  }

  /** Starts the timer after which an unanswered park is given up. */
  startParkTimer(ms: number, onTimeout: () => void): void {
    this.#parkTimer = setTimeout(onTimeout, ms);
  }

  /** The client never came back: the child's call is cancelled and everything freed. */
  abandon(): void {
    this.#finish();
  }

  #fromMux(message: WireMessage, relatedRequestId: RequestId | undefined): void {
    if (this.#state === "done") return;
    const { id, method } = message;
    if (method === undefined) return this.#response(message);
    if (id !== undefined && id !== null) return this.#inputRequest(message);
    // A notification: only what belongs to this request reaches its client.
    if (relatedRequestId !== this.#muxId) return;
    if (method === "notifications/progress") return this.#send(message);
    if (method === "notifications/message" && this.#envelope.logLevel !== undefined) {
      return this.#send(message);
    }
  }

  #response(message: WireMessage): void {
    const id = message.id;
    if (id === INITIALIZE_ID) {
      if (!isObject(message.result)) {
        // The server is not serving (its start failed, its remote refused it): a discover
        // answered from nothing would tell the client that it is.
        if (this.#method === "server/discover" && !this.#relay) {
          this.#answer({
            error: modernError(
              message.error ?? { code: ProtocolErrorCode.InternalError, message: "" },
            ),
          });
        }
        return;
      }
      const result = message.result;
      this.#serverInfo = serverInfoOf(result);
      if (this.#method === "server/discover" && !this.#relay) {
        const versions = this.#bridge.options.supportedVersions;
        this.#answer({ result: discoverFromInitialize(result, versions) });
      }
      return;
    }
    if (id !== this.#muxId) return;
    if (this.#relay) {
      if (!isObject(message.result)) return this.#answer({ error: message.error! });
      // The proxy serves legacy sessions too: its discover result says so.
      const result = this.#method === "server/discover"
        ? { ...message.result, supportedVersions: [...this.#bridge.options.supportedVersions] }
        : message.result;
      return this.#answer({ result });
    }
    if (isObject(message.result)) {
      this.#answer({ result: modernResult(this.#method, message.result, this.#serverInfo) });
    } else {
      this.#answer({
        error: modernError(message.error ?? { code: ProtocolErrorCode.InternalError, message: "" }),
      });
    }
  }

  /** A server-to-client request of the child: gathered into the next `input_required`. */
  #inputRequest(message: WireMessage): void {
    const method = String(message.method);
    const id = message.id as RequestId;
    const capability = CAPABILITY_OF[method];
    const declared = capability !== undefined &&
      this.#envelope.clientCapabilities[capability] !== undefined;
    if (!declared || !INPUT_REQUIRED_METHODS.has(this.#method)) {
      const why = capability === undefined
        ? `mcp-proxy cannot relay ${method} to a ${this.#method} request of the 2026-07-28 era`
        : `The client did not declare the '${capability}' capability ${method} needs`;
      this.#session.receive(incoming(
        errorResponse(
          id,
          capability === undefined
            ? ProtocolErrorCode.InternalError
            : ProtocolErrorCode.MissingRequiredClientCapability,
          why,
          {
            requiredCapabilities: capability === undefined ? undefined : { [capability]: {} },
          },
        ),
      ));
      return;
    }
    this.#inputs.set(`input-${++this.#nextInputKey}`, { id, method, params: message.params });
    // Requests the child sends together go out in one round.
    clearTimeout(this.#gatherTimer);
    this.#gatherTimer = setTimeout(
      () => this.#askForInputContained(),
      this.#bridge.options.gatherMs,
    );
  }

  /** {@linkcode #askForInput} from a timer: a failure ends this call, and only this call. */
  #askForInputContained(): void {
    this.#askForInput().catch((error) => {
      this.#bridge.options.log.error(
        `A ${this.#method} call could not ask its client for input: ${describe(error)}`,
      );
      this.#finish();
    });
  }

  /**
   * Answers the client's attempt with `input_required` for what the child waits for; the
   * first time, if the caps on calls in a multi round-trip admit it, else with an error.
   */
  async #askForInput(): Promise<void> {
    if (this.#state !== "running" || this.#inputs.size === 0) return;
    let parking = this.#parking;
    if (parking === undefined) {
      const client = this.#whoSent();
      const refusal = this.#bridge.options.parkedCalls.enter(client);
      if (refusal !== undefined) {
        return this.#answer({ error: { code: ProtocolErrorCode.InternalError, message: refusal } });
      }
      parking = this.#parking = { id: crypto.randomUUID(), client };
    }
    this.#state = "parked";
    const inputRequests: JsonObject = {};
    for (const [key, { method, params }] of this.#inputs) {
      inputRequests[key] = { method, params: isObject(params) ? params : {} };
    }
    const requestState = await this.#bridge.park(
      this,
      { parkedId: parking.id, method: this.#method, round: ++this.#round },
      parking.client,
    );
    if (this.#state !== "parked") return;
    this.#send({
      jsonrpc: "2.0",
      id: this.#clientId,
      result: modernResult(
        this.#method,
        { resultType: "input_required", inputRequests, requestState },
        this.#serverInfo,
      ),
    });
  }

  #answer(outcome: { result: JsonObject } | { error: ErrorObject }): void {
    this.#send({ jsonrpc: "2.0", id: this.#clientId, ...outcome });
    this.#finish();
  }

  #send(message: WireMessage): void {
    this.#reply.send(message);
  }

  /** Ends the call: the session closes (cancelling what the child still works on). */
  #finish(): void {
    if (this.#state === "done") return;
    this.#state = "done";
    clearTimeout(this.#gatherTimer);
    clearTimeout(this.#parkTimer);
    const parking = this.#parking;
    if (parking !== undefined) {
      this.#bridge.unpark(parking.id, this);
      this.#bridge.options.parkedCalls.leave(parking.client);
    }
    this.#session.close();
  }
}

/**
 * Most resource URIs one `subscriptions/listen` request may name: each is a subscription the
 * proxy holds (and passes on to the server) while the stream is open.
 */
export const MAX_LISTEN_URIS = 1_000;

/** The error answer to a `subscriptions/listen` request naming too many resource URIs. */
function listenRefusal(id: RequestId, params: JsonObject): WireMessage | undefined {
  const filter = isObject(params.notifications) ? params.notifications : {};
  const uris = filter.resourceSubscriptions;
  if (!Array.isArray(uris) || uris.length <= MAX_LISTEN_URIS) return undefined;
  return errorResponse(
    id,
    ProtocolErrorCode.InvalidParams,
    `Invalid params: a subscriptions/listen request may name at most ${MAX_LISTEN_URIS} ` +
      `resource URIs; this one names ${uris.length}`,
    { maxResourceSubscriptions: MAX_LISTEN_URIS },
  );
}

/** A `subscriptions/listen` stream over a multiplexer session that stays open. */
class ListenStream implements ModernCall {
  readonly #session: MuxSession;
  readonly #id: RequestId;
  readonly #reply: ModernReply;
  readonly #filter: JsonObject;
  readonly #uris: ReadonlySet<string>;
  #open = true;

  constructor(
    server: SessionOpener,
    id: RequestId,
    params: JsonObject,
    envelope: Envelope,
    reply: ModernReply,
    options: Required<ModernBridgeOptions>,
  ) {
    this.#id = id;
    this.#reply = reply;
    this.#filter = isObject(params.notifications) ? params.notifications : {};
    const uris = this.#filter.resourceSubscriptions;
    this.#uris = new Set(Array.isArray(uris) ? uris.filter((u) => typeof u === "string") : []);
    this.#session = server.openSession({
      send: (message) => this.#fromMux(message),
    });
    openSessionFor(this.#session, envelope, options.legacyVersion);
    let n = 0;
    for (const uri of this.#uris) {
      this.#session.receive(incoming({
        jsonrpc: "2.0",
        id: `${SUBSCRIBE_ID}:${++n}`,
        method: "resources/subscribe",
        params: { uri },
      }));
    }
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#session.close();
  }

  #fromMux(message: WireMessage): void {
    if (!this.#open) return;
    if (message.id === INITIALIZE_ID && isObject(message.result)) {
      return this.#acknowledge(message.result);
    }
    if (message.method === undefined || (message.id !== undefined && message.id !== null)) return;
    const method = String(message.method);
    if (method === "notifications/resources/updated") {
      const uri = isObject(message.params) ? message.params.uri : undefined;
      if (typeof uri === "string" && this.#uris.has(uri)) this.#tagged(message);
      return;
    }
    const flag = LISTEN_FLAG_OF[method];
    if (flag !== undefined && this.#filter[flag] === true) this.#tagged(message);
  }

  /** The acknowledgement: the filter flags the server can honour. */
  #acknowledge(initialize: JsonObject): void {
    const capabilities = isObject(initialize.capabilities) ? initialize.capabilities : {};
    const honoured: JsonObject = {};
    for (const flag of listChangedFlags(capabilities)) {
      if (this.#filter[flag] === true) honoured[flag] = true;
    }
    const resources = capabilities.resources;
    if (this.#uris.size > 0 && isObject(resources) && resources.subscribe === true) {
      honoured.resourceSubscriptions = [...this.#uris];
    }
    this.#tagged({
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: { notifications: honoured },
    });
  }

  #tagged(message: WireMessage): void {
    const params = isObject(message.params) ? message.params : {};
    this.#reply.send({
      ...message,
      params: { ...params, _meta: { ...metaOf(params), [SUBSCRIPTION_ID_KEY]: this.#id } },
    });
  }
}

/**
 * Sends the proxy's own `initialize` on a bridge session (answered by the multiplexer from the
 * server's cached handshake) and the request's log level, so that logs reach it.
 */
function openSessionFor(session: MuxSession, envelope: Envelope, legacyVersion: string): void {
  session.receive(incoming({
    jsonrpc: "2.0",
    id: INITIALIZE_ID,
    method: "initialize",
    params: {
      protocolVersion: legacyVersion,
      capabilities: envelope.clientCapabilities,
      clientInfo: envelope.clientInfo ?? { name: "unknown", version: "0" },
    },
  }));
  if (envelope.logLevel === undefined) return;
  session.receive(incoming({
    jsonrpc: "2.0",
    id: SET_LEVEL_ID,
    method: "logging/setLevel",
    params: { level: envelope.logLevel },
  }));
}
