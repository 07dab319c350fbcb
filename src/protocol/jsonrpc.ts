/**
 * The JSON-RPC vocabulary of the whole program: one loose wire type, one classifier that sorts
 * every inbound message at its edge, one set of response builders, the error codes and the
 * protocol versions.
 *
 * Messages are routed on `id`, `method` and a few `params` fields only; everything else is
 * forwarded untouched and unvalidated (the peers validate), which is what keeps the proxy
 * transparent and cheap. The codes and versions are defined here rather than imported from the
 * SDK so that start-up does not load it; a unit test checks them against the SDK.
 * @module
 */

/** A JSON-RPC request id. */
export type RequestId = string | number;

/** Request or notification params: always an object in MCP, with an optional `_meta` object. */
export type Params = { [key: string]: unknown; _meta?: Record<string, unknown> };

/** The `error` member of an error response. */
export interface ErrorObject {
  /** One of {@linkcode ProtocolErrorCode}, or the peer's own. */
  code: number;
  /** A short description. */
  message: string;
  /** Anything more the peer adds. */
  data?: unknown;
}

/** Any JSON-RPC message as it travels, loosely typed: the only message type of the program. */
export interface WireMessage {
  /** Always `"2.0"`. */
  jsonrpc: "2.0";
  /** Present on requests and responses (`null` on an error response to an unreadable one). */
  id?: RequestId | null;
  /** Present on requests and notifications. */
  method?: string;
  /** Request or notification params. */
  params?: Params;
  /** A success response's result. */
  result?: unknown;
  /** An error response's error. */
  error?: ErrorObject;
}

/** A request: a method and an id. */
export interface RequestMessage extends WireMessage {
  /** The sender's id, echoed by the response. */
  id: RequestId;
  /** The method called. */
  method: string;
}

/** A notification: a method and no id. */
export interface NotificationMessage extends WireMessage {
  /** Never present. */
  id?: undefined;
  /** The method. */
  method: string;
}

/** A response: an id (or `null`) and a result or an error. */
export interface ResponseMessage extends WireMessage {
  /** The id of the request answered. */
  id: RequestId | null;
  /** Never present. */
  method?: undefined;
}

/** An inbound request, its params as an object (empty when the message had none). */
export interface IncomingRequest {
  /** Discriminant. */
  readonly kind: "request";
  /** The message as received, to forward untouched. */
  readonly message: RequestMessage;
  /** `message.params`, or an empty object. */
  readonly params: Params;
  /**
   * The message exactly as its client wrote it (one POST body), when known: a request passed
   * on with only its id changed can be written from it instead of serialized again.
   */
  readonly text?: string;
}

/** An inbound notification, its params as an object (empty when the message had none). */
export interface IncomingNotification {
  /** Discriminant. */
  readonly kind: "notification";
  /** The message as received, to forward untouched. */
  readonly message: NotificationMessage;
  /** `message.params`, or an empty object. */
  readonly params: Params;
}

/** An inbound response. */
export interface IncomingResponse {
  /** Discriminant. */
  readonly kind: "response";
  /** The message as received. */
  readonly message: ResponseMessage;
  /**
   * The message exactly as its peer wrote it (one line of JSON), when known: a response passed
   * on with only its id changed can be written from it instead of serialized again.
   */
  readonly text?: string;
}

/** A well-formed inbound message, sorted by kind. */
export type Incoming = IncomingRequest | IncomingNotification | IncomingResponse;

/** The verdict on a value that is not a message this program may route. */
export interface InvalidMessage {
  /** Discriminant. */
  readonly kind: "invalid";
  /** The id to answer with: the request's, when it had a usable one, else `null`. */
  readonly id: RequestId | null;
  /** Whether the value was a request (with an id) that deserves an error response. */
  readonly isRequest: boolean;
  /** The JSON-RPC error to answer (or log) with. */
  readonly error: ErrorObject;
}

/**
 * Error codes, named as the MCP SDK names them: v2's `ProtocolErrorCode`, plus 1.x's
 * `ConnectionClosed` and `RequestTimeout`, and the names of the same two numbers in the SDK's
 * HTTP transports, which answer transport-level refusals with -32000 and unknown sessions with
 * -32001.
 */
export const ProtocolErrorCode = {
  /** The text is not JSON. */
  ParseError: -32700,
  /** The JSON is not a JSON-RPC message. */
  InvalidRequest: -32600,
  /** No such method. */
  MethodNotFound: -32601,
  /** `params` (or `params._meta`) is not an object, or its content is wrong. */
  InvalidParams: -32602,
  /** The handler failed. */
  InternalError: -32603,
  /** No such resource. */
  ResourceNotFound: -32002,
  /** The request needs a client capability the client did not declare (2026-07-28). */
  MissingRequiredClientCapability: -32021,
  /** The protocol version is not supported (2026-07-28). */
  UnsupportedProtocolVersion: -32022,
  /** HTTP headers disagree with the body (2026-07-28). */
  HeaderMismatch: -32020,
  /** The connection (or the server behind it) is gone. */
  ConnectionClosed: -32000,
  /** The request took too long. */
  RequestTimeout: -32001,
  /** An HTTP transport refuses a request for its own reasons (ConnectionClosed's number). */
  TransportRefused: -32000,
  /** An HTTP transport knows no such session (RequestTimeout's number). */
  SessionNotFound: -32001,
} as const;

/** Legacy protocol versions (the `initialize` era) this program speaks, newest first. */
export const LEGACY_PROTOCOL_VERSIONS: readonly string[] = [
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  "2024-10-07",
];

/** The newest legacy protocol version: what the proxy offers a child in `initialize`. */
export const LATEST_LEGACY_PROTOCOL_VERSION = "2025-11-25";

/** The first modern protocol version: no handshake, no sessions, per-request `_meta`. */
export const MODERN_PROTOCOL_VERSION = "2026-07-28";

const EMPTY_PARAMS: Params = Object.freeze({});

/** Whether `value` is a JSON object: not null, not an array. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is RequestId {
  return typeof value === "string" || typeof value === "number";
}

function invalid(id: RequestId | null, isRequest: boolean, code: number, message: string) {
  return { kind: "invalid", id, isRequest, error: { code, message } } as const;
}

/**
 * Sorts a parsed JSON value into a request, a notification or a response, or an invalid
 * verdict: -32600 for what is not a JSON-RPC message, -32602 for a request or notification
 * whose `params`, or `params._meta`, is present but not an object. `text` is the JSON the
 * value was parsed from, kept with a response or a request (see {@linkcode IncomingResponse.text}).
 */
export function classify(value: unknown, text?: string): Incoming | InvalidMessage {
  if (!isObject(value) || value.jsonrpc !== "2.0") {
    const id = isObject(value) && isId(value.id) ? value.id : null;
    return invalid(
      id,
      false,
      ProtocolErrorCode.InvalidRequest,
      "Invalid Request: not a JSON-RPC 2.0 message",
    );
  }
  const { id, method, params } = value;
  if (method === undefined) {
    if (("result" in value || "error" in value) && (isId(id) || id === null)) {
      return { kind: "response", message: value as unknown as ResponseMessage, text };
    }
    return invalid(
      null,
      false,
      ProtocolErrorCode.InvalidRequest,
      "Invalid Request: not a JSON-RPC 2.0 message",
    );
  }
  const isRequest = isId(id);
  if (typeof method !== "string" || (id !== undefined && !isRequest)) {
    return invalid(
      isRequest ? id : null,
      false,
      ProtocolErrorCode.InvalidRequest,
      "Invalid Request: not a JSON-RPC 2.0 message",
    );
  }
  if (
    params !== undefined &&
    (!isObject(params) || (params._meta !== undefined && !isObject(params._meta)))
  ) {
    const what = isObject(params) ? "params._meta" : "params";
    return invalid(
      isRequest ? id : null,
      isRequest,
      ProtocolErrorCode.InvalidParams,
      `Invalid params: ${what} must be an object`,
    );
  }
  const checked = (params ?? EMPTY_PARAMS) as Params;
  return isRequest
    ? { kind: "request", message: value as unknown as RequestMessage, params: checked, text }
    : { kind: "notification", message: value as unknown as NotificationMessage, params: checked };
}

/** A JSON-RPC error response (`id` null when the request could not be read). */
export function errorResponse(
  id: RequestId | null,
  code: number,
  message: string,
  data?: unknown,
): ResponseMessage {
  const error: ErrorObject = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: "2.0", id, error };
}

/** A JSON-RPC success response. */
export function resultResponse(id: RequestId, result: Record<string, unknown>): ResponseMessage {
  return { jsonrpc: "2.0", id, result };
}

/** The answer to an invalid message. */
export function invalidResponse(verdict: InvalidMessage): ResponseMessage {
  return { jsonrpc: "2.0", id: verdict.id, error: verdict.error };
}

/** A map key for a request id: ids 1 and "1" are different requests. */
export function requestKey(id: RequestId): string {
  return `${typeof id}:${id}`;
}

/** A short description of a message for logs: its method, or which response it is. */
export function describeMessage(message: WireMessage): string {
  return message.method ?? `the response to ${JSON.stringify(message.id)}`;
}
