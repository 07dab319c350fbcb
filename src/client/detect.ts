/**
 * Finding what a remote URL speaks, as the 2026-07-28 backward-compatibility sections say: a
 * modern request first, whose refusal's body decides; then a legacy Streamable HTTP
 * `initialize`; then a legacy HTTP+SSE GET. The verdict is kept for the whole run.
 * @module
 */
import { MODERN_PROTOCOL_VERSION, ProtocolErrorCode } from "../shared/jsonrpc.ts";
import type { JsonObject } from "../era/envelope.ts";
import { discoverParams, eraOfDiscoverAnswer } from "../era/probe.ts";
import { readEventData } from "../era/sse_events.ts";

/** What the remote speaks. */
export type RemoteKind =
  | { readonly transport: "streamablehttp"; readonly era: "modern"; readonly discover: JsonObject }
  | { readonly transport: "streamablehttp"; readonly era: "legacy" }
  | { readonly transport: "sse"; readonly era: "legacy" };

/** The remote answered none of the probes as an MCP server would; `tried` says what each got. */
export class DetectionError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "DetectionError";
}

/** How many times the modern probe is sent to a server that names our version as supported. */
const MAX_PROBES = 3;

/** JSON-RPC codes only a modern server answers with. */
const MODERN_ERROR_CODES = new Set([-32020, -32021, -32022]);

/** Options of {@linkcode detectRemote}. */
export interface DetectOptions {
  /** The remote MCP server's URL. */
  readonly url: string;
  /** Sent with every probe (the user's `--headers`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `fetch` for the remote: TLS options applied, OAuth token attached. */
  readonly fetch: typeof fetch;
  /** Limit the probes to one transport (`--transport` given): only the era is found. */
  readonly transport?: "sse" | "streamablehttp";
  /** The proxy's identity in the probes' `clientInfo`. */
  readonly clientInfo: JsonObject;
}

/** Probes the remote; rejects with {@linkcode DetectionError} naming what each probe got. */
export async function detectRemote(options: DetectOptions): Promise<RemoteKind> {
  const tried: string[] = [];
  if (options.transport !== "sse") {
    const modern = await probeModern(options, tried);
    if (typeof modern === "object") {
      return { transport: "streamablehttp", era: "modern", discover: modern };
    }
    // A JSON-RPC refusal that no modern server sends is a legacy Streamable HTTP server (a
    // request without a session), and a forced transport needs only the era: no session is
    // opened to find out.
    if (modern === "legacy" || options.transport === "streamablehttp") {
      return { transport: "streamablehttp", era: "legacy" };
    }
    if (await probeLegacyHttp(options, tried)) {
      return { transport: "streamablehttp", era: "legacy" };
    }
  }
  if (await probeSse(options, tried)) {
    return { transport: "sse", era: "legacy" };
  }
  throw new DetectionError(tried.join("; "));
}

function post(options: DetectOptions, body: JsonObject, headers: Record<string, string>) {
  return options.fetch(options.url, {
    method: "POST",
    headers: {
      ...options.headers,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers,
    },
    body: JSON.stringify(body),
  });
}

/** The JSON-RPC message of an answer (JSON, or the first event of a stream), if any. */
async function answerOf(response: Response): Promise<JsonObject | undefined> {
  const type = response.headers.get("content-type") ?? "";
  let text = "";
  if (type.startsWith("text/event-stream") && response.body) {
    const reader = response.body;
    const first = Promise.withResolvers<string>();
    readEventData(reader, (data) => first.resolve(data)).then(
      () => first.resolve(""),
      () => first.resolve(""),
    );
    text = await first.promise;
    await reader.cancel().catch(() => {});
  } else {
    text = await response.text();
  }
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The discover result of a modern remote; `legacy` when a JSON-RPC error that no modern
 * server sends came back (a legacy Streamable HTTP server refusing a request without a
 * session); `undefined` when the answer says neither.
 */
async function probeModern(
  options: DetectOptions,
  tried: string[],
  attempt = 1,
): Promise<JsonObject | "legacy" | undefined> {
  const response = await post(options, {
    jsonrpc: "2.0",
    id: "mcp-proxy-probe",
    method: "server/discover",
    params: discoverParams(options.clientInfo),
  }, { "mcp-protocol-version": MODERN_PROTOCOL_VERSION, "mcp-method": "server/discover" });
  const answer = await answerOf(response);
  const verdict = eraOfDiscoverAnswer(answer ?? {});
  if (response.ok && verdict.era === "modern") return verdict.discover;
  const error = answer?.error as { code?: number; data?: { supported?: unknown } } | undefined;
  const code = error?.code;
  const supported = error?.data?.supported;
  if (
    code === ProtocolErrorCode.UnsupportedProtocolVersion && attempt < MAX_PROBES &&
    Array.isArray(supported) && supported.includes(MODERN_PROTOCOL_VERSION)
  ) {
    // It names our version among those it supports: the spec says to retry with it.
    return await probeModern(options, tried, attempt + 1);
  }
  if (code !== undefined && MODERN_ERROR_CODES.has(code)) {
    throw new DetectionError(
      `the remote speaks the 2026-07-28 era but refused ${MODERN_PROTOCOL_VERSION}: ` +
        JSON.stringify(answer?.error),
    );
  }
  tried.push(`a 2026-07-28 server/discover got HTTP ${response.status}`);
  return code === undefined ? undefined : "legacy";
}

/** Whether a legacy `initialize` opens a session (which is ended again at once). */
async function probeLegacyHttp(options: DetectOptions, tried: string[]): Promise<boolean> {
  const response = await post(options, {
    jsonrpc: "2.0",
    id: "mcp-proxy-probe",
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: options.clientInfo },
  }, {});
  const answer = await answerOf(response);
  const session = response.headers.get("mcp-session-id");
  if (session !== null) {
    await options.fetch(options.url, {
      method: "DELETE",
      headers: { ...options.headers, "mcp-session-id": session },
    }).then((r) => r.body?.cancel()).catch(() => {});
  }
  if (response.ok && answer?.result !== undefined) return true;
  tried.push(`a legacy Streamable HTTP initialize got HTTP ${response.status}`);
  return false;
}

/** Whether a GET opens an event stream whose first event names the POST endpoint. */
async function probeSse(options: DetectOptions, tried: string[]): Promise<boolean> {
  const controller = new AbortController();
  try {
    const response = await options.fetch(options.url, {
      headers: { ...options.headers, accept: "text/event-stream" },
      signal: controller.signal,
    });
    const ok = response.ok &&
      (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
    if (!ok) tried.push(`a legacy HTTP+SSE GET got HTTP ${response.status}`);
    return ok;
  } finally {
    controller.abort();
  }
}
