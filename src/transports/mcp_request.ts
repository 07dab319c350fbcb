/**
 * Checks of Streamable HTTP requests before any message reaches the relay: Accept,
 * Content-Type and `MCP-Protocol-Version` headers, the body size limit, JSON parsing and a
 * structure test of each JSON-RPC message (not a schema validation: the relay forwards
 * messages untouched and the upstream validates them).
 * @module
 */
import { type JSONRPCMessage, mcpTypes } from "../deps.ts";
import {
  INVALID_REQUEST,
  jsonRpcErrorResponse,
  PARSE_ERROR,
  TRANSPORT_ERROR,
} from "./http_error.ts";

/** Largest accepted request body by default (as the SDK's default): 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** Most messages in one batch (as the SDK). */
export const MAX_BATCH_SIZE = 100;

const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = mcpTypes.SUPPORTED_PROTOCOL_VERSIONS;

/** Refuses a request for the transport's own reasons (the SDK's code -32000). */
export function refuse(
  status: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return jsonRpcErrorResponse(status, TRANSPORT_ERROR, message, headers);
}

/** The client messages of one POST, and whether they came as a batch (array). */
export interface PostBody {
  readonly messages: readonly JSONRPCMessage[];
  readonly batch: boolean;
}

/** Whether `value` has the shape of a JSON-RPC 2.0 request, notification or response. */
export function isJsonRpcMessage(value: unknown): value is JSONRPCMessage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const message = value as Record<string, unknown>;
  if (message.jsonrpc !== "2.0") return false;
  const id = message.id;
  const validId = typeof id === "string" || typeof id === "number";
  if (typeof message.method === "string") return id === undefined || validId;
  return ("result" in message || "error" in message) && (validId || id === null);
}

/** Whether `message` is a request (it has a method and an id). */
export function isRequest(message: JSONRPCMessage): message is mcpTypes.JSONRPCRequest {
  return "method" in message && "id" in message;
}

/** 400 when the request names a protocol version this proxy does not speak. */
export function checkProtocolVersion(request: Request): Response | undefined {
  const version = request.headers.get("mcp-protocol-version");
  if (version === null || SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  return refuse(
    400,
    `Bad Request: Unsupported protocol version: ${version} (supported versions: ${
      SUPPORTED_PROTOCOL_VERSIONS.join(", ")
    })`,
  );
}

/** 406 unless Accept lists every type in `types` (a substring test, as the SDK's). */
export function checkAccept(request: Request, types: readonly string[]): Response | undefined {
  const accept = request.headers.get("accept") ?? "";
  if (types.every((type) => accept.includes(type))) return undefined;
  return refuse(406, `Not Acceptable: Client must accept ${types.join(" and ")}`);
}

/** Whether a Content-Type header names JSON (parameters such as charset allowed). */
function isJsonContentType(header: string | null): boolean {
  if (header === "application/json") return true;
  return header?.split(";", 1)[0].trim().toLowerCase() === "application/json";
}

/** The body as text, or `undefined` once it exceeds `maxBytes` (the rest is not read). */
async function readLimited(request: Request, maxBytes: number): Promise<string | undefined> {
  const length = Number(request.headers.get("content-length") ?? NaN);
  if (length > maxBytes) return undefined;
  // A declared length is enforced by the HTTP server: read the body in one go.
  if (Number.isInteger(length)) return await request.text();
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for await (const chunk of request.body ?? []) {
    size += chunk.byteLength;
    if (size > maxBytes) return undefined;
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * Checks a POST and parses its body: a Response with the error status (406, 415, 413,
 * 400 for bad JSON or a message of the wrong shape), or the messages.
 */
export async function readPost(
  request: Request,
  maxBodyBytes: number,
): Promise<Response | PostBody> {
  const refusal = checkAccept(request, ["application/json", "text/event-stream"]);
  if (refusal) return refusal;
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return refuse(415, "Unsupported Media Type: Content-Type must be application/json");
  }
  const text = await readLimited(request, maxBodyBytes);
  if (text === undefined) {
    return refuse(413, `Payload Too Large: Request body must not exceed ${maxBodyBytes} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return jsonRpcErrorResponse(400, PARSE_ERROR, "Parse error: Invalid JSON");
  }
  const batch = Array.isArray(parsed);
  const messages: unknown[] = batch ? parsed as unknown[] : [parsed];
  if (messages.length === 0 || messages.length > MAX_BATCH_SIZE) {
    return jsonRpcErrorResponse(
      400,
      INVALID_REQUEST,
      `Invalid Request: a batch holds 1 to ${MAX_BATCH_SIZE} messages`,
    );
  }
  if (!messages.every(isJsonRpcMessage)) {
    return jsonRpcErrorResponse(
      400,
      INVALID_REQUEST,
      "Invalid Request: not a JSON-RPC 2.0 message",
    );
  }
  return { messages, batch };
}
