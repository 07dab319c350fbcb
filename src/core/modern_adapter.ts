/**
 * A modern (2026-07-28) stdio server made to look like a legacy one to the multiplexer, which
 * then shares it among legacy sessions as it shares any child.
 *
 * - The handshake is the child's `server/discover`; legacy sessions get their `initialize`
 *   answered from it by the multiplexer.
 * - A modern client's request (it carries its own envelope; see the modern bridge) is relayed
 *   as it is, and the child's answer, `input_required` included, goes back as it is.
 * - Every other request gets the per-request envelope built from its own session's handshake
 *   (capabilities, client info) and log level; `ping` and `logging/setLevel` are answered
 *   here, since the modern era has neither.
 * - The list-changed notifications ride on one `subscriptions/listen` stream held with the
 *   child; `resources/subscribe` on streams of at most {@linkcode URIS_PER_LISTEN_STREAM} URIs
 *   each. The era has no way to change what an open stream watches: a stream whose URIs
 *   changed is opened again, once per turn of the event loop however many changes the turn
 *   brought, so each change costs at most that many URIs sent to the child.
 * - An `input_required` result becomes real server-to-client requests to the session that
 *   asked (the multiplexer routes them by the request they belong to), and the original
 *   request is retried with the answers and the child's `requestState`, round after round
 *   (bounded).
 * @module
 */
import type { SessionContext } from "../protocol/handshake.ts";
import {
  errorResponse,
  isObject,
  MODERN_PROTOCOL_VERSION,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import {
  type Envelope,
  hasEnvelopeClaim,
  type JsonObject,
  listChangedFlags,
  metaOf,
  SUBSCRIPTION_ID_KEY,
  withEnvelope,
} from "../protocol/envelope.ts";
import { legacyResult } from "../protocol/results.ts";

/** Where a {@linkcode ModernAdapter} sends what it translated. */
export interface ModernAdapterHandlers {
  /** Writes one message to the child process. */
  toChild(message: WireMessage): void;
  /**
   * Hands the multiplexer a message as a legacy server would have written it. A
   * server-to-client request comes with `relatedTo`, the id of the request it belongs to (as
   * the multiplexer sent it), so that it reaches that request's client.
   */
  toMux(message: WireMessage, relatedTo?: RequestId): void;
}

/** Most `input_required` rounds one request may take before it fails. */
export const MAX_INPUT_ROUNDS = 10;

/** Most resource URIs the proxy subscribes to at one child, for all its clients together. */
export const MAX_CHILD_SUBSCRIPTIONS = 10_000;

/** Most resource URIs one listen stream with the child watches (what a change re-sends). */
export const URIS_PER_LISTEN_STREAM = 100;

/** A listen stream with the child that watches some of the subscribed URIs. */
interface UriStream {
  /** The id of its `subscriptions/listen` request, once opened. */
  listenId: string | undefined;
  readonly uris: Set<string>;
}

/** A request of a session in flight at the child. */
interface InFlight {
  /** The id the multiplexer knows it by. */
  readonly muxId: RequestId;
  readonly method: string;
  readonly params: JsonObject;
  readonly context: SessionContext | undefined;
  /** A modern client's own request: relayed as it is, answered as the child answers. */
  readonly modern: boolean;
  rounds: number;
}

/**
 * Translates between the multiplexer (legacy sessions) and one 2026-07-28 upstream: a stdio
 * child in server mode, or a remote in client mode.
 */
export class ModernAdapter {
  readonly #handlers: ModernAdapterHandlers;
  readonly #clientInfo: JsonObject;
  readonly #capabilities: JsonObject;
  /** Requests at the child, by the id the child sees (a retry gets a new one). */
  readonly #inFlight = new Map<RequestId, InFlight>();
  /** The stream of list changes, if the child offers any. */
  #changesListenId: string | undefined;
  /** The stream of each URI the multiplexer subscribed to (it subscribes each once). */
  readonly #streamOf = new Map<string, UriStream>();
  /** Open URI streams, by listen id: a notification tagged with another id is a straggler. */
  readonly #uriStreams = new Map<string, UriStream>();
  /** Streams with room for another URI. */
  readonly #roomy = new Set<UriStream>();
  /** Streams whose URIs changed during this turn: opened again at its end. */
  readonly #changed = new Set<UriStream>();
  #nextId = 0;
  /** Server-to-client requests made for `input_required` rounds, by id: their resolvers. */
  readonly #asks = new Map<RequestId, (result: JsonObject | undefined) => void>();

  /**
   * A child whose `server/discover` answered `discover`; `clientInfo` names the proxy on its
   * own requests.
   */
  constructor(discover: JsonObject, clientInfo: JsonObject, handlers: ModernAdapterHandlers) {
    this.#handlers = handlers;
    this.#clientInfo = clientInfo;
    this.#capabilities = isObject(discover.capabilities) ? discover.capabilities : {};
  }

  /** Opens the listen stream that carries list changes to legacy sessions. */
  start(): void {
    const notifications: JsonObject = {};
    for (const flag of listChangedFlags(this.#capabilities)) notifications[flag] = true;
    if (Object.keys(notifications).length > 0) this.#changesListenId = this.#listen(notifications);
  }

  /** A message from the multiplexer; `context` is the session it belongs to, if any. */
  send(message: WireMessage, context?: SessionContext): void {
    const { id, method } = message;
    if (typeof method !== "string") return this.#answered(message);
    if (id === undefined || id === null) return this.#notification(message, method);
    const params = isObject(message.params) ? message.params : {};
    switch (method) {
      case "ping":
      case "logging/setLevel":
        return this.#handlers.toMux({ jsonrpc: "2.0", id, result: {} });
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.#subscription(id as RequestId, method, params);
    }
    const modern = hasEnvelopeClaim(params);
    const request: InFlight = {
      muxId: id as RequestId,
      method,
      params,
      context,
      modern,
      rounds: 0,
    };
    if (modern) {
      this.#inFlight.set(request.muxId, request);
      return this.#handlers.toChild(message);
    }
    this.#sendRequest(request, params);
  }

  /** A message the child wrote. */
  fromChild(message: WireMessage): void {
    if (message.method === undefined) return this.#response(message);
    if (message.id !== undefined && message.id !== null) {
      // Not the modern way (MRTR is), but a child may still do it: relay it as is.
      return this.#handlers.toMux(message);
    }
    const params = isObject(message.params) ? message.params : {};
    const meta = metaOf(params);
    if (meta !== undefined && SUBSCRIPTION_ID_KEY in meta) {
      if (message.method === "notifications/subscriptions/acknowledged") return;
      const listenId = meta[SUBSCRIPTION_ID_KEY] as string;
      // Resource updates come on the URI streams, list changes on the other: anything else
      // is an old stream's straggler (or one the child should not have sent there).
      const current = message.method === "notifications/resources/updated"
        ? this.#uriStreams.has(listenId)
        : listenId === this.#changesListenId;
      if (!current) return;
      const { [SUBSCRIPTION_ID_KEY]: _, ...rest } = meta;
      const { _meta: _old, ...bare } = params;
      const untagged = Object.keys(rest).length > 0 ? { ...bare, _meta: rest } : bare;
      return this.#handlers.toMux({ ...message, params: untagged });
    }
    this.#handlers.toMux(message);
  }

  /** Every request in flight failed with the child (it exited): forget them. */
  reset(): void {
    this.#inFlight.clear();
    for (const resolve of this.#asks.values()) resolve(undefined);
    this.#asks.clear();
  }

  /** A client's answer to one of the input requests asked for the child. */
  #answered(message: WireMessage): void {
    const resolve = message.id == null ? undefined : this.#asks.get(message.id);
    if (!resolve) return; // modern children send no server-to-client requests of their own
    this.#asks.delete(message.id!);
    resolve(isObject(message.result) ? message.result : undefined);
  }

  /** Asks the client of the request the multiplexer knows as `muxId`; resolves with its answer. */
  #askClient(
    muxId: RequestId,
    method: string,
    params: JsonObject,
  ): Promise<JsonObject | undefined> {
    const id = `mcp-proxy:input:${++this.#nextId}`;
    const { promise, resolve } = Promise.withResolvers<JsonObject | undefined>();
    this.#asks.set(id, resolve);
    this.#handlers.toMux({ jsonrpc: "2.0", id, method, params }, muxId);
    return promise;
  }

  #notification(message: WireMessage, method: string): void {
    if (method === "notifications/initialized" || method === "notifications/roots/list_changed") {
      return;
    }
    if (method === "notifications/cancelled" && isObject(message.params)) {
      // The child knows the request by its latest attempt's id.
      const muxId = message.params.requestId;
      for (const [childId, request] of this.#inFlight) {
        if (request.muxId !== muxId) continue;
        this.#inFlight.delete(childId);
        return this.#handlers.toChild({
          ...message,
          params: { ...message.params, requestId: childId },
        });
      }
      return;
    }
    this.#handlers.toChild(message);
  }

  #sendRequest(request: InFlight, params: JsonObject): void {
    const childId = request.rounds === 0 ? request.muxId : `mcp-proxy:retry:${++this.#nextId}`;
    this.#inFlight.set(childId, request);
    this.#handlers.toChild({
      jsonrpc: "2.0",
      id: childId,
      method: request.method,
      params: withEnvelope(params, this.#envelope(request.context)),
    });
  }

  /** The envelope of a session's request (the proxy's own when `context` is undefined). */
  #envelope(context: SessionContext | undefined): Envelope {
    return {
      protocolVersion: MODERN_PROTOCOL_VERSION,
      clientCapabilities: context?.handshake?.capabilities ?? {},
      clientInfo: context?.handshake?.clientInfo ?? this.#clientInfo,
      logLevel: context?.logLevel,
    };
  }

  #response(message: WireMessage): void {
    const childId = message.id as RequestId;
    const request = this.#inFlight.get(childId);
    if (!request) return; // the listen stream's end, or a request cancelled meanwhile
    this.#inFlight.delete(childId);
    const result = message.result;
    if (request.modern) return this.#handlers.toMux({ ...message, id: request.muxId });
    if (isObject(result) && result.resultType === "input_required") {
      // A failure ends this request alone.
      this.#gatherInput(request, result).catch((error) =>
        this.#handlers.toMux(errorResponse(
          request.muxId,
          ProtocolErrorCode.InternalError,
          `mcp-proxy could not gather the input the server asked for: ${error}`,
        ))
      );
      return;
    }
    this.#handlers.toMux(
      isObject(result)
        ? { jsonrpc: "2.0", id: request.muxId, result: legacyResult(result) }
        : { ...message, id: request.muxId },
    );
  }

  /** Asks the session's client for every input the child wants, then retries. */
  async #gatherInput(request: InFlight, result: JsonObject): Promise<void> {
    if (++request.rounds > MAX_INPUT_ROUNDS) {
      return this.#handlers.toMux({
        jsonrpc: "2.0",
        id: request.muxId,
        error: {
          code: ProtocolErrorCode.InternalError,
          message: `mcp-proxy: the server asked for input more than ${MAX_INPUT_ROUNDS} times`,
        },
      });
    }
    const inputs = isObject(result.inputRequests) ? result.inputRequests : {};
    const inputResponses: JsonObject = {};
    await Promise.all(
      Object.entries(inputs).map(async ([key, input]) => {
        if (!isObject(input) || typeof input.method !== "string") return;
        const answer = await this.#askClient(
          request.muxId,
          input.method,
          isObject(input.params) ? input.params : {},
        );
        if (answer !== undefined) inputResponses[key] = answer;
      }),
    );
    const retry: JsonObject = { ...request.params, inputResponses };
    if (typeof result.requestState === "string") retry.requestState = result.requestState;
    this.#sendRequest(request, retry);
  }

  /** Keeps the set of subscribed URIs; the streams follow it at the end of the turn. */
  #subscription(id: RequestId, method: string, params: JsonObject): void {
    const uri = params.uri;
    if (typeof uri === "string") {
      if (method === "resources/unsubscribe") this.#unwatch(uri);
      else if (!this.#watch(uri)) {
        return this.#handlers.toMux(errorResponse(
          id,
          ProtocolErrorCode.InternalError,
          `mcp-proxy subscribes to at most ${MAX_CHILD_SUBSCRIPTIONS} resources of one server ` +
            "for all its clients together; unsubscribe from some first",
        ));
      }
    }
    this.#handlers.toMux({ jsonrpc: "2.0", id, result: {} });
  }

  /** Puts `uri` on a stream with room; false when the child watches as many as it may. */
  #watch(uri: string): boolean {
    if (this.#streamOf.has(uri)) return true;
    if (this.#streamOf.size >= MAX_CHILD_SUBSCRIPTIONS) return false;
    let stream: UriStream | undefined = this.#roomy.values().next().value;
    if (stream === undefined) {
      stream = { listenId: undefined, uris: new Set() };
      this.#roomy.add(stream);
    }
    stream.uris.add(uri);
    if (stream.uris.size >= URIS_PER_LISTEN_STREAM) this.#roomy.delete(stream);
    this.#streamOf.set(uri, stream);
    this.#changedStream(stream);
    return true;
  }

  /** Takes `uri` off its stream. */
  #unwatch(uri: string): void {
    const stream = this.#streamOf.get(uri);
    if (stream === undefined) return;
    this.#streamOf.delete(uri);
    stream.uris.delete(uri);
    this.#roomy.add(stream);
    this.#changedStream(stream);
  }

  #changedStream(stream: UriStream): void {
    if (this.#changed.size === 0) queueMicrotask(this.#reopenChanged);
    this.#changed.add(stream);
  }

  /** Opens each stream that changed during the turn again with its URIs (or ends it if none). */
  #reopenChanged = (): void => {
    for (const stream of this.#changed) {
      if (stream.listenId !== undefined) {
        this.#uriStreams.delete(stream.listenId);
        this.#handlers.toChild({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: stream.listenId, reason: "Subscriptions changed" },
        });
        stream.listenId = undefined;
      }
      if (stream.uris.size === 0) {
        this.#roomy.delete(stream);
        continue;
      }
      stream.listenId = this.#listen({ resourceSubscriptions: [...stream.uris] });
      this.#uriStreams.set(stream.listenId, stream);
    }
    this.#changed.clear();
  };

  /** Opens a listen stream for `notifications`; returns its id. */
  #listen(notifications: JsonObject): string {
    const listenId = `mcp-proxy:listen:${++this.#nextId}`;
    this.#handlers.toChild({
      jsonrpc: "2.0",
      id: listenId,
      method: "subscriptions/listen",
      params: withEnvelope({ notifications }, this.#envelope(undefined)),
    });
    return listenId;
  }
}
