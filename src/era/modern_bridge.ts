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
 * @module
 */
import type { Logger } from "../log.ts";
import type { ClientSink, MuxSession } from "../relay/types.ts";
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
} from "../shared/jsonrpc.ts";
import {
  type Envelope,
  type JsonObject,
  LIST_CHANGED_FLAGS,
  listChangedFlags,
  metaOf,
  stripEnvelope,
  SUBSCRIPTION_ID_KEY,
} from "./envelope.ts";
import {
  discoverFromInitialize,
  INPUT_REQUIRED_METHODS,
  modernError,
  modernResult,
  serverInfoOf,
} from "./results.ts";
import type { ModernPost } from "./http_classify.ts";
import { RequestStateSealer } from "./request_state.ts";

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
}

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
  /** Calls waiting for a client's retry, by parked id. */
  readonly #parked = new Map<string, BridgedRequest>();

  /** A bridge to `server`. */
  constructor(server: SessionOpener, options: ModernBridgeOptions) {
    this.#server = server;
    this.#options = { parkTimeoutMs: 300_000, gatherMs: 50, ...options };
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
      return new ListenStream(this.#server, request.id, params, envelope, reply, this.#options);
    }
    // A modern child gets modern requests as they are: its requestState is its own.
    const relay = this.#server.era === "modern";
    if (!relay && typeof params.requestState === "string") {
      return this.#resume(request, params, reply);
    }
    return new BridgedRequest(this, this.#server, request, params, envelope, reply, relay);
  }

  /** Called by a call whose child asked for input: seals a state and keeps the call. */
  async park(call: BridgedRequest, parkedId: string, method: string): Promise<string> {
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
    return await this.#sealer.seal({ parkedId, method }, this.#options.parkTimeoutMs);
  }

  /** Forgets a parked call (it ended). */
  unpark(parkedId: string, call: BridgedRequest): void {
    if (this.#parked.get(parkedId) === call) this.#parked.delete(parkedId);
  }

  /** The options every call shares. */
  get options(): Required<ModernBridgeOptions> {
    return this.#options;
  }

  /** A retry carrying a `requestState`: the parked call it names takes it over. */
  #resume(request: RequestMessage, params: JsonObject, reply: ModernReply): ModernCall {
    const retry = new Retry();
    this.#sealer.open(params.requestState as string).then((ref) => {
      if (retry.closed) return;
      const call = ref?.method === request.method ? this.#parked.get(ref.parkedId) : undefined;
      if (!ref || !call) {
        reply.send(errorResponse(
          request.id,
          ProtocolErrorCode.InvalidParams,
          "Invalid requestState: it was altered, has expired, or belongs to another request",
        ));
        return;
      }
      this.#parked.delete(ref.parkedId);
      retry.call = call;
      call.resume(request.id, params.inputResponses, reply);
    });
    return retry;
  }
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
  #parkedId: string | undefined;
  /** running: the child works on it; parked: it waits for the client's retry; done: answered. */
  #state: "running" | "parked" | "done" = "running";

  /** Sends `request` on a new session (a legacy child's `server/discover`: the handshake only). */
  constructor(
    bridge: ModernBridge,
    server: SessionOpener,
    request: RequestMessage,
    params: JsonObject,
    envelope: Envelope,
    reply: ModernReply,
    relay: boolean,
  ) {
    this.#bridge = bridge;
    this.#relay = relay;
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
    if (this.#inputs.size > 0) this.#askForInput();
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
      const result = isObject(message.result) ? message.result : {};
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
    this.#gatherTimer = setTimeout(() => this.#askForInput(), this.#bridge.options.gatherMs);
  }

  /** Answers the client's attempt with `input_required` for what the child waits for. */
  async #askForInput(): Promise<void> {
    if (this.#state !== "running" || this.#inputs.size === 0) return;
    this.#state = "parked";
    this.#parkedId ??= crypto.randomUUID();
    const inputRequests: JsonObject = {};
    for (const [key, { method, params }] of this.#inputs) {
      inputRequests[key] = { method, params: isObject(params) ? params : {} };
    }
    const requestState = await this.#bridge.park(this, this.#parkedId, this.#method);
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
    if (this.#parkedId !== undefined) this.#bridge.unpark(this.#parkedId, this);
    this.#session.close();
  }
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
