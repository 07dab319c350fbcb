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
 * - `resources/subscribe` and the list-changed notifications ride on one
 *   `subscriptions/listen` stream held with the child, opened again when the set of
 *   subscribed URIs changes.
 * - An `input_required` result becomes real server-to-client requests to the session that
 *   asked (the multiplexer routes them by the request they belong to), and the original
 *   request is retried with the answers and the child's `requestState`, round after round
 *   (bounded).
 * @module
 */
import type { SessionContext } from "../relay/handshake.ts";
import {
  isObject,
  MODERN_PROTOCOL_VERSION,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../shared/jsonrpc.ts";
import {
  type Envelope,
  hasEnvelopeClaim,
  type JsonObject,
  listChangedFlags,
  metaOf,
  SUBSCRIPTION_ID_KEY,
  withEnvelope,
} from "./envelope.ts";
import { legacyResult } from "./results.ts";

/** Where a {@linkcode ModernChild} sends what it translated. */
export interface ModernChildHandlers {
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

/** Translates between the multiplexer (legacy) and one modern child. */
export class ModernChild {
  readonly #handlers: ModernChildHandlers;
  readonly #clientInfo: JsonObject;
  readonly #capabilities: JsonObject;
  /** Requests at the child, by the id the child sees (a retry gets a new one). */
  readonly #inFlight = new Map<RequestId, InFlight>();
  /** Resource URIs the multiplexer subscribed to (it subscribes each once). */
  readonly #subscribed = new Set<string>();
  #listenId: string | undefined;
  #nextId = 0;
  /** Server-to-client requests made for `input_required` rounds, by id: their resolvers. */
  readonly #asks = new Map<RequestId, (result: JsonObject | undefined) => void>();

  /**
   * A child whose `server/discover` answered `discover`; `clientInfo` names the proxy on its
   * own requests.
   */
  constructor(discover: JsonObject, clientInfo: JsonObject, handlers: ModernChildHandlers) {
    this.#handlers = handlers;
    this.#clientInfo = clientInfo;
    this.#capabilities = isObject(discover.capabilities) ? discover.capabilities : {};
  }

  /** Opens the listen stream that carries list changes to legacy sessions. */
  start(): void {
    this.#listen();
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
      if (meta[SUBSCRIPTION_ID_KEY] !== this.#listenId) return; // an old stream's straggler
      if (message.method === "notifications/subscriptions/acknowledged") return;
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
      this.#gatherInput(request, result);
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

  /** Keeps the set of subscribed URIs and opens the listen stream again to match it. */
  #subscription(id: RequestId, method: string, params: JsonObject): void {
    const uri = params.uri;
    if (typeof uri === "string") {
      if (method === "resources/subscribe") this.#subscribed.add(uri);
      else this.#subscribed.delete(uri);
      this.#listen();
    }
    this.#handlers.toMux({ jsonrpc: "2.0", id, result: {} });
  }

  /** (Re)opens the one listen stream: list changes the child offers, and subscribed URIs. */
  #listen(): void {
    if (this.#listenId !== undefined) {
      this.#handlers.toChild({
        jsonrpc: "2.0",
        method: "notifications/cancelled",
        params: { requestId: this.#listenId, reason: "Subscriptions changed" },
      });
    }
    const notifications: JsonObject = {};
    for (const flag of listChangedFlags(this.#capabilities)) notifications[flag] = true;
    if (this.#subscribed.size > 0) notifications.resourceSubscriptions = [...this.#subscribed];
    if (Object.keys(notifications).length === 0) {
      this.#listenId = undefined;
      return;
    }
    this.#listenId = `mcp-proxy:listen:${++this.#nextId}`;
    this.#handlers.toChild({
      jsonrpc: "2.0",
      id: this.#listenId,
      method: "subscriptions/listen",
      params: withEnvelope({ notifications }, this.#envelope(undefined)),
    });
  }
}
