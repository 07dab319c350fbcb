/**
 * `subscriptions/listen` through the multiplexer: a bridge session that stays open and relays
 * the list-changed and resource notifications the client opted in to, acknowledged first and
 * tagged with the request's id.
 * @module
 */
import {
  errorResponse,
  isObject,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import {
  type Envelope,
  type JsonObject,
  LIST_CHANGED_FLAGS,
  listChangedFlags,
  metaOf,
  SUBSCRIPTION_ID_KEY,
} from "../protocol/envelope.ts";
import type { MuxSession, SessionOpening } from "./types.ts";
import {
  incoming,
  INITIALIZE_ID,
  type ModernBridgeOptions,
  type ModernCall,
  type ModernReply,
  openSessionFor,
  type SessionOpener,
  SUBSCRIBE_ID,
} from "./bridge_session.ts";

/** Which listen filter flag lets each change notification through. */
const LISTEN_FLAG_OF: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(LIST_CHANGED_FLAGS).map((
    [flag, area],
  ) => [`notifications/${area}/list_changed`, flag]),
);

/**
 * Most resource URIs one `subscriptions/listen` request may name: each is a subscription the
 * proxy holds (and passes on to the server) while the stream is open.
 */
export const MAX_LISTEN_URIS = 1_000;

/** The error answer to a `subscriptions/listen` request naming too many resource URIs. */
export function listenRefusal(id: RequestId, params: JsonObject): WireMessage | undefined {
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
export class ListenStream implements ModernCall {
  readonly #session: MuxSession;
  readonly #id: RequestId;
  readonly #reply: ModernReply;
  readonly #filter: JsonObject;
  readonly #uris: ReadonlySet<string>;
  #open = true;

  /**
   * Opens the stream `id` asked for with `params` and `envelope`: a session of `server` whose
   * notifications `reply` writes, filtered as the request says.
   */
  constructor(
    server: SessionOpener,
    id: RequestId,
    params: JsonObject,
    envelope: Envelope,
    reply: ModernReply,
    options: Required<ModernBridgeOptions> & { opening: SessionOpening },
  ) {
    this.#id = id;
    this.#reply = reply;
    this.#filter = isObject(params.notifications) ? params.notifications : {};
    const uris = this.#filter.resourceSubscriptions;
    this.#uris = new Set(Array.isArray(uris) ? uris.filter((u) => typeof u === "string") : []);
    this.#session = server.openSession({
      send: (message) => this.#fromMux(message),
    }, options.opening);
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
