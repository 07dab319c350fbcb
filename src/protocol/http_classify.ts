/**
 * Which era a Streamable HTTP POST speaks, decided from its body before any session logic, and
 * the modern validation ladder of the 2026-07-28 transport: header/body agreement
 * (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`), the envelope, the version, the method.
 *
 * The order of the rungs is the SDK's (its `INBOUND_VALIDATION_LADDER`): a request that fails
 * several is answered by the earliest. Every refusal echoes the request id.
 * @module
 */
import {
  errorResponse,
  MODERN_PROTOCOL_VERSION,
  ProtocolErrorCode,
  type RequestMessage,
  type ResponseMessage,
} from "./jsonrpc.ts";
import {
  type Envelope,
  hasEnvelopeClaim,
  isEnvelopeIssue,
  isModernVersion,
  type JsonObject,
  readEnvelope,
} from "./envelope.ts";
import {
  argumentAt,
  decodeHeaderValue,
  nameHeaderValue,
  nameSourceOf,
  type ParamHeader,
} from "./headers.ts";
import { REMOVED_METHODS } from "./results.ts";

/** The headers of a POST the ladder reads. */
export interface PostHeaders {
  /** The value of header `name`, `null` when absent (as `Headers.get`). */
  get(name: string): string | null;
}

/** A modern request that passed the ladder. */
export interface ModernPost {
  /** Served by the modern bridge. */
  readonly era: "modern";
  /** The request in the body. */
  readonly request: RequestMessage;
  /** What the request's `_meta` says about its client. */
  readonly envelope: Envelope;
  /**
   * Its HTTP headers, which say who sent it (see `credentialOf`: its MRTR rounds are bound to
   * that client, and counted against it). Absent where there is one client only (client mode).
   */
  readonly headers?: PostHeaders;
  /**
   * How the call log names its client, when the server knows (`api-key #N`: which key it
   * presented); a modern request has no session to name.
   */
  readonly client?: string;
}

/** A refusal: the HTTP status and the JSON-RPC error response body. */
export interface LadderRefusal {
  /** Answered with an error, not served. */
  readonly era: "refused";
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The JSON-RPC error response sent as the body. */
  readonly body: ResponseMessage;
}

/** How a POST is to be served. */
export type PostEra = { readonly era: "legacy" } | ModernPost | LadderRefusal;

const LEGACY: PostEra = { era: "legacy" };

function refusal(
  status: number,
  id: unknown,
  code: number,
  message: string,
  data?: unknown,
): LadderRefusal {
  const requestId = typeof id === "string" || typeof id === "number" ? id : null;
  return { era: "refused", status, body: errorResponse(requestId, code, message, data) };
}

function mismatch(id: unknown, header: string, detail: string): LadderRefusal {
  return refusal(
    400,
    id,
    ProtocolErrorCode.HeaderMismatch,
    `Bad Request: the request headers and body disagree: ${detail}`,
    { mismatch: { header, body: detail } },
  );
}

/** A header value without the optional white space HTTP allows around it. */
function header(headers: PostHeaders, name: string): string | undefined {
  return headers.get(name)?.trim();
}

/**
 * Classifies one parsed POST body. Legacy traffic (an `initialize`, anything without the
 * envelope, batches, responses) goes on to the session logic untouched; a request that claims
 * the modern era is checked rung by rung. `supportedVersions` lists what the proxy serves, for
 * the unsupported-version error.
 */
export function classifyPost(
  headers: PostHeaders,
  body: unknown,
  supportedVersions: readonly string[],
): PostEra {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return LEGACY;
  const message = body as JsonObject;
  const { id, method, params } = message;
  if (typeof method !== "string") return LEGACY;
  const versionHeader = header(headers, "mcp-protocol-version");
  const headerIsModern = versionHeader !== undefined && isModernVersion(versionHeader);
  if (!hasEnvelopeClaim(params)) {
    if (!headerIsModern) return LEGACY;
    if (method === "initialize") {
      return mismatch(id, versionHeader, "an initialize request carries a modern version header");
    }
    if (id === undefined) return LEGACY;
    const issue = readEnvelope(params);
    const missing = isEnvelopeIssue(issue) ? issue.key : "_meta";
    return refusal(
      400,
      id,
      ProtocolErrorCode.InvalidParams,
      `Invalid params: the MCP-Protocol-Version header names ${versionHeader}, but the request ` +
        `lacks the per-request envelope (${missing})`,
      { envelope: { missing: [missing] } },
    );
  }
  const envelope = readEnvelope(params);
  if (isEnvelopeIssue(envelope)) {
    return refusal(
      400,
      id,
      ProtocolErrorCode.InvalidParams,
      `Invalid _meta envelope for protocol revision ${MODERN_PROTOCOL_VERSION}: ` +
        `${envelope.key}: ${envelope.problem}`,
      { envelope },
    );
  }
  // A notification has no answer to carry an error: the transport accepts and drops it.
  if (id === undefined || id === null) return LEGACY;
  const version = envelope.protocolVersion;
  if (versionHeader !== undefined && versionHeader !== version) {
    return mismatch(
      id,
      versionHeader,
      `the body envelope names protocol version ${version} but the MCP-Protocol-Version header ` +
        `names ${versionHeader}`,
    );
  }
  const methodHeader = header(headers, "mcp-method");
  if (methodHeader !== undefined && methodHeader !== method) {
    return mismatch(
      id,
      methodHeader,
      `the body names method ${method} but the Mcp-Method header names ${methodHeader}`,
    );
  }
  if (!supportedVersions.includes(version) || !isModernVersion(version)) {
    return refusal(
      400,
      id,
      ProtocolErrorCode.UnsupportedProtocolVersion,
      `Unsupported protocol version: ${version}`,
      { supported: [...supportedVersions], requested: version },
    );
  }
  const headerRefusal = checkStandardHeaders(headers, id, method, params as JsonObject);
  if (headerRefusal) return headerRefusal;
  if (REMOVED_METHODS.has(method)) {
    return refusal(404, id, ProtocolErrorCode.MethodNotFound, `Method not found: ${method}`);
  }
  return {
    era: "modern",
    request: message as unknown as RequestMessage,
    envelope,
    headers,
  };
}

/**
 * The presence half of the standard headers, and `Mcp-Name` against the body: a method that
 * names its target (`tools/call`, `prompts/get`, `resources/read`) needs the header, and a body
 * whose name is not a string matches no header (a server could read `["a"]` as `a`).
 */
function checkStandardHeaders(
  headers: PostHeaders,
  id: unknown,
  method: string,
  params: JsonObject,
): LadderRefusal | undefined {
  for (const name of ["MCP-Protocol-Version", "Mcp-Method"]) {
    if (header(headers, name) === undefined) {
      return mismatch(id, name, `the required ${name} header is missing`);
    }
  }
  const field = nameSourceOf(method);
  if (field === undefined) return undefined;
  const raw = header(headers, "mcp-name");
  if (raw === undefined) return mismatch(id, "Mcp-Name", "the required Mcp-Name header is missing");
  const bodyName = nameHeaderValue(method, params);
  if (bodyName === undefined) {
    return mismatch(
      id,
      raw,
      `Mcp-Name header value '${raw}' does not match body value ${
        JSON.stringify(params[field]) ?? "(none)"
      }: params.${field} must be a string`,
    );
  }
  const headerName = decodeHeaderValue(raw);
  if (headerName !== bodyName) {
    return mismatch(
      id,
      raw,
      `Mcp-Name header value '${raw}' does not match body value '${bodyName}'`,
    );
  }
  return undefined;
}

/**
 * Whether `text`, a decoded `Mcp-Param-*` value, mirrors the argument `value`: a string as it is,
 * an integer compared as a number (`42.0` is 42, but only decimal notation counts), a boolean as
 * `true` or `false`. Anything else (an object, an array) matches no header.
 */
function mirrors(text: string, value: unknown): boolean {
  switch (typeof value) {
    case "string":
      return text === value;
    case "number":
      return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) && Number(text) === value;
    case "boolean":
      return text === String(value);
    default:
      return false;
  }
}

/**
 * Checks the `Mcp-Param-{Name}` headers of a modern `tools/call` against its arguments, for the
 * parameters its tool declares with `x-mcp-header`: a value in the body needs its header, which
 * must match it once decoded; no value (absent or null) means no header. Headers the tool does
 * not declare are not looked at, as the specification asks of servers.
 */
export function checkParamHeaders(
  headers: PostHeaders,
  id: unknown,
  args: unknown,
  declared: readonly ParamHeader[],
): LadderRefusal | undefined {
  for (const { name, path } of declared) {
    const headerName = `Mcp-Param-${name}`;
    const raw = header(headers, headerName);
    const value = argumentAt(args, path);
    const where = `arguments.${path.join(".")}`;
    if (value === undefined || value === null) {
      if (raw === undefined) continue;
      return mismatch(
        id,
        raw,
        `${headerName} header value '${raw}' has no value in the body to mirror (${where})`,
      );
    }
    if (raw === undefined) {
      return mismatch(
        id,
        headerName,
        `the ${headerName} header is missing, but the body has a value for it (${where})`,
      );
    }
    const text = decodeHeaderValue(raw);
    if (text === undefined || !mirrors(text, value)) {
      return mismatch(
        id,
        raw,
        `${headerName} header value '${raw}' does not match body value ` +
          `${JSON.stringify(value)} (${where})`,
      );
    }
  }
  return undefined;
}
