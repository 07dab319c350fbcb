/**
 * Checks of Streamable HTTP requests before any message reaches the relay: Accept,
 * Content-Type and `MCP-Protocol-Version` headers, the body size limit, JSON parsing and a
 * structure test of each JSON-RPC message (not a schema validation: the relay forwards
 * messages untouched and the upstream validates them).
 * @module
 */
import {
  classify,
  type Incoming,
  LEGACY_PROTOCOL_VERSIONS,
  ProtocolErrorCode,
} from "../../protocol/jsonrpc.ts";
import { getLogger } from "../../io/log.ts";
import type { ReceivedRequest } from "../../runtime/types.ts";
import { jsonRpcErrorResponse, refuse } from "./http_error.ts";

const log = getLogger("mcp_proxy.http");

/** Most messages in one batch (as the SDK). */
export const MAX_BATCH_SIZE = 100;

/** The client messages of one POST, and whether they came as a batch (array). */
export interface PostBody {
  /** The messages, sorted by kind, in the order of the body. */
  readonly messages: readonly Incoming[];
  /** Whether the body was an array (the answer is one too). */
  readonly batch: boolean;
}

/** What the Accept header of a POST must list. */
const POST_ACCEPTS: readonly string[] = ["application/json", "text/event-stream"];

/** 400 when the request names a protocol version this proxy does not speak. */
export function checkProtocolVersion(request: Request): Response | undefined {
  const version = request.headers.get("mcp-protocol-version");
  if (version === null || LEGACY_PROTOCOL_VERSIONS.includes(version)) return undefined;
  return refuse(
    400,
    `Bad Request: Unsupported protocol version: ${version} (supported versions: ${
      LEGACY_PROTOCOL_VERSIONS.join(", ")
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

/**
 * Whether `text` takes more than `maxBytes` in UTF-8. A UTF-16 unit takes one to three
 * bytes, so only a text near the limit needs encoding to tell.
 */
function exceedsUtf8(text: string, maxBytes: number): boolean {
  if (text.length * 3 <= maxBytes) return false;
  return text.length > maxBytes || new TextEncoder().encode(text).byteLength > maxBytes;
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

/** The 413 answer to a body over `maxBytes`. */
function tooLarge(maxBytes: number): Response {
  return refuse(413, `Payload Too Large: Request body must not exceed ${maxBytes} bytes`);
}

/**
 * The body text of `received` within `maxBytes`, then `use` of it; or the answer refusing it
 * (413 when too large, 400 when the client hung up). A body the server read ahead is used at
 * once, with no promise in between. The transports' one body-size check (a check reading the
 * body may let the request through: `R` includes `undefined` then).
 */
export function withBodyText<R extends Response | undefined = Response>(
  { request, bodyText }: ReceivedRequest,
  maxBytes: number,
  use: (text: string) => R | Promise<R>,
): R | Response | Promise<R | Response> {
  if (bodyText !== undefined) {
    return exceedsUtf8(bodyText, maxBytes) ? tooLarge(maxBytes) : use(bodyText);
  }
  return readLimited(request, maxBytes).then(
    (text) => text === undefined ? tooLarge(maxBytes) : use(text),
    (error) => {
      // The client hung up mid-upload: nobody reads the answer, and nothing here failed.
      log.debug(`A request body could not be read: ${(error as Error).message}`);
      return refuse(400, "Bad Request: the request body could not be read");
    },
  );
}

/** Parses a JSON body: the value, or the 400 -32700 answer when it is not JSON. */
function parseJson(text: string): { value: unknown } | Response {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return jsonRpcErrorResponse(400, ProtocolErrorCode.ParseError, "Parse error: Invalid JSON");
  }
}

/**
 * Reads the JSON body of `received`, at most `maxBytes`, and calls `use` with its value and
 * text; or answers with the error (413 when too large, 400 -32700 when not JSON).
 */
export function withJsonBody(
  received: ReceivedRequest,
  maxBytes: number,
  use: (value: unknown, text: string) => Response | Promise<Response>,
): Response | Promise<Response> {
  return withBodyText(received, maxBytes, (text) => {
    const parsed = parseJson(text);
    return parsed instanceof Response ? parsed : use(parsed.value, text);
  });
}

/**
 * One client message sorted by `classify`, or its 400 answer (the request's id echoed);
 * `text` is the JSON it was parsed from, when it is the whole body.
 */
export function classifyPosted(value: unknown, text?: string): Incoming | Response {
  const incoming = classify(value, text);
  if (incoming.kind !== "invalid") return incoming;
  const { code, message } = incoming.error;
  return jsonRpcErrorResponse(400, code, message, {}, incoming.id);
}

/**
 * The messages of a parsed POST body (`text`), or the 400 answer to a bad batch or message. A
 * lone message keeps its text, to be passed on as written.
 */
function postBodyOf(value: unknown, text: string): PostBody | Response {
  const batch = Array.isArray(value);
  const values: unknown[] = batch ? value : [value];
  if (values.length === 0 || values.length > MAX_BATCH_SIZE) {
    return jsonRpcErrorResponse(
      400,
      ProtocolErrorCode.InvalidRequest,
      `Invalid Request: a batch holds 1 to ${MAX_BATCH_SIZE} messages`,
    );
  }
  const messages: Incoming[] = [];
  for (const each of values) {
    const incoming = classifyPosted(each, batch ? undefined : text);
    if (incoming instanceof Response) return incoming;
    messages.push(incoming);
  }
  return { messages, batch };
}

/**
 * Checks a POST, parses its body and calls `use` with the messages; or answers with the error
 * status (406, 415, 413, 400 for bad JSON or a message of the wrong shape). With a body the
 * server read ahead, everything runs at once.
 */
export function withPost(
  received: ReceivedRequest,
  maxBodyBytes: number,
  use: (body: PostBody) => Response | Promise<Response>,
): Response | Promise<Response> {
  const { request } = received;
  const refusal = checkAccept(request, POST_ACCEPTS);
  if (refusal) return refusal;
  if (!isJsonContentType(request.headers.get("content-type"))) {
    return refuse(415, "Unsupported Media Type: Content-Type must be application/json");
  }
  return withJsonBody(received, maxBodyBytes, (value, text) => {
    const body = postBodyOf(value, text);
    return body instanceof Response ? body : use(body);
  });
}
