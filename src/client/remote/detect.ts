/**
 * Finding what a remote URL speaks, as the 2026-07-28 backward-compatibility sections say: a
 * modern request first, whose refusal's body decides; then a legacy Streamable HTTP
 * `initialize`; then a legacy HTTP+SSE GET. The verdict is kept for the whole run.
 *
 * The first probe has {@linkcode FIRST_PROBE_TIMEOUT_MS} to answer, each later one
 * {@linkcode PROBE_TIMEOUT_MS}, and the whole detection {@linkcode DETECTION_TIMEOUT_MS}: a remote
 * that takes a request and never answers it must not keep the client's requests waiting for ever.
 * @module
 */
import { sessionIdForLog } from "../../io/log.ts";
import {
  LATEST_LEGACY_PROTOCOL_VERSION,
  MODERN_PROTOCOL_VERSION,
  ProtocolErrorCode,
} from "../../protocol/jsonrpc.ts";
import { formatDuration } from "../../io/async.ts";
import type { JsonObject } from "../../protocol/envelope.ts";
import { discoverParams, eraOfDiscoverAnswer } from "../../protocol/probe.ts";
import { readEventData } from "./sse_events.ts";
import { CrossOriginRedirectError, fetchWithinOrigin, type RemoteFetch } from "./redirects.ts";
import type { RemoteOptions } from "./options.ts";

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

/**
 * Every probe was refused with HTTP 401 or 403 (`statuses`, in order): the remote wants
 * credentials it was not given, or refused those given; what it speaks cannot be found out.
 */
export class DetectionRefused extends DetectionError {
  /** The error's name, as `Error` subclasses set it. */
  override name = "DetectionRefused";

  /** `tried`: what each probe got; `statuses`: the refusals' HTTP statuses. */
  constructor(tried: string, readonly statuses: readonly number[]) {
    super(tried);
  }
}

/**
 * No probe found an MCP server, and at least one got no answer in time (the message says what
 * each got): the remote may answer later.
 */
export class DetectionTimeout extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "DetectionTimeout";
}

/** Longest wait for a later probe's answer: its headers, and the first event of a stream. */
export const PROBE_TIMEOUT_MS = 10_000;

/**
 * Longest wait for the first probe's answer. A remote that is itself a proxy in front of a
 * server still starting (a first `npx`/`uvx` run downloads packages) holds its first answer
 * until the server is up, which takes seconds to tens of seconds.
 */
export const FIRST_PROBE_TIMEOUT_MS = 25_000;

/**
 * Longest wait for a verdict, all probes together: the time a request waiting for a remote is
 * given anywhere in client mode.
 */
export const DETECTION_TIMEOUT_MS = 30_000;

/** How many times the modern probe is sent to a server that names our version as supported. */
const MAX_PROBES = 3;

/** The HTTP statuses of a refusal for want of credentials (or of the right ones). */
const REFUSED_STATUSES = new Set([401, 403]);

/** JSON-RPC codes only a modern server answers with. */
const MODERN_ERROR_CODES = new Set<number>([
  ProtocolErrorCode.HeaderMismatch,
  ProtocolErrorCode.MissingRequiredClientCapability,
  ProtocolErrorCode.UnsupportedProtocolVersion,
]);

/** Options of {@linkcode detectRemote}. */
export interface DetectOptions extends RemoteOptions {
  /** Limit the probes to one transport (`--transport` given): only the era is found. */
  readonly transport?: "sse" | "streamablehttp";
  /** The proxy's identity in the probes' `clientInfo`. */
  readonly clientInfo: JsonObject;
  /** Overrides {@linkcode PROBE_TIMEOUT_MS}. */
  readonly probeTimeoutMs?: number;
  /** Overrides {@linkcode DETECTION_TIMEOUT_MS}. */
  readonly detectionTimeoutMs?: number;
}

/** One detection under way. */
interface Probing {
  readonly options: DetectOptions;
  /** The remote's `fetch`, following redirects only within the URL's origin. */
  readonly fetch: RemoteFetch;
  /** What each probe got, for the error when none finds a server. */
  readonly tried: string[];
  /** The HTTP status of each probe that got an answer and found no server. */
  readonly statuses: number[];
  /** Aborted when the whole detection runs out of time. */
  readonly expired: AbortSignal;
  /** Whether a probe got no answer in time. */
  timedOut: boolean;
  /** How many probes were sent so far. */
  sent: number;
}

/**
 * Probes the remote. Rejects with {@linkcode DetectionRefused} when every probe got 401 or 403,
 * with {@linkcode DetectionError} when the remote answered and none of it is an MCP server, with {@linkcode DetectionTimeout} when some probe got no answer in
 * time; both name what each probe got.
 */
export async function detectRemote(options: DetectOptions): Promise<RemoteKind> {
  const expiry = new AbortController();
  const timer = setTimeout(
    () => expiry.abort(),
    options.detectionTimeoutMs ?? DETECTION_TIMEOUT_MS,
  );
  const probing: Probing = {
    options,
    fetch: fetchWithinOrigin(options.fetch),
    tried: [],
    statuses: [],
    expired: expiry.signal,
    timedOut: false,
    sent: 0,
  };
  try {
    const found = await probeAll(probing);
    if (found) return found;
  } finally {
    clearTimeout(timer);
  }
  const { tried, statuses, timedOut } = probing;
  if (timedOut) throw new DetectionTimeout(tried.join("; "));
  const everyOneRefused = statuses.length > 0 && statuses.length === tried.length &&
    statuses.every((status) => REFUSED_STATUSES.has(status));
  if (everyOneRefused) {
    throw new DetectionRefused(tried.join("; "), statuses);
  }
  throw new DetectionError(tried.join("; "));
}

/** The verdict of the probes, or `undefined` when none found a server. */
async function probeAll(probing: Probing): Promise<RemoteKind | undefined> {
  const { transport } = probing.options;
  if (transport !== "sse") {
    const modern = await probeModern(probing);
    if (typeof modern === "object") {
      return { transport: "streamablehttp", era: "modern", discover: modern };
    }
    // A JSON-RPC refusal that no modern server sends is a legacy Streamable HTTP server (a
    // request without a session), and a forced transport needs only the era: no session is
    // opened to find out, unless the remote did not answer at all or refused the credentials.
    if (modern === "legacy") return { transport: "streamablehttp", era: "legacy" };
    if (modern === "refused" && transport === "streamablehttp") return undefined;
    if (transport === "streamablehttp" && !probing.timedOut) {
      return { transport: "streamablehttp", era: "legacy" };
    }
    if (transport === "streamablehttp") return undefined;
    if (await probeLegacyHttp(probing)) return { transport: "streamablehttp", era: "legacy" };
  }
  if (await probeSse(probing)) return { transport: "sse", era: "legacy" };
  return undefined;
}

/** Notes what a probe got: for the error if none finds a server, and at DEBUG. */
function note(probing: Probing, outcome: string): void {
  probing.tried.push(outcome);
  probing.options.log.debug(`Detection: ${outcome}.`);
}

/** Notes the HTTP status of a probe `what` whose answer found no server. */
function noteStatus(probing: Probing, what: string, status: number): void {
  probing.statuses.push(status);
  note(probing, `${what} got HTTP ${status}`);
}

/** A promise that rejects when `signal` aborts. */
function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/**
 * Runs the probe `what` with its deadline; `undefined` when it got no answer in time (noted in
 * `tried`). The signal given to `run` aborts at the deadline and once the probe is over, which
 * ends a stream the probe opened. A sign-in the `fetch` waits for does not heed signals, so
 * the deadline is raced rather than left to them.
 */
async function withDeadline<T>(
  probing: Probing,
  what: string,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  const probeMs = probing.options.probeTimeoutMs ??
    (probing.sent++ === 0 ? FIRST_PROBE_TIMEOUT_MS : PROBE_TIMEOUT_MS);
  const deadline = AbortSignal.any([probing.expired, AbortSignal.timeout(probeMs)]);
  const over = new AbortController();
  const running = run(AbortSignal.any([deadline, over.signal]));
  running.catch(() => {});
  try {
    return await Promise.race([running, whenAborted(deadline)]);
  } catch (error) {
    if (error instanceof CrossOriginRedirectError) {
      throw new DetectionError(`${what}: ${error.message}`);
    }
    if (!deadline.aborted) throw error;
    if (probing.expired.aborted) {
      const detectionMs = probing.options.detectionTimeoutMs ?? DETECTION_TIMEOUT_MS;
      note(probing, `${what} was still unanswered after ${formatDuration(detectionMs)}`);
      throw new DetectionTimeout(probing.tried.join("; "));
    }
    note(probing, `${what} got no answer within ${formatDuration(probeMs)}`);
    probing.timedOut = true;
    return undefined;
  } finally {
    over.abort();
  }
}

/**
 * POSTs the probe `what`, a request `method` with `params` (and the extra `headers`), within its
 * deadline; its answer and the JSON-RPC message in it, or `undefined` when none came in time.
 */
function postProbe(
  probing: Probing,
  what: string,
  method: string,
  params: JsonObject,
  headers: Record<string, string>,
): Promise<{ response: Response; answer: JsonObject | undefined } | undefined> {
  const { url, headers: userHeaders } = probing.options;
  const body = { jsonrpc: "2.0", id: "mcp-proxy-probe", method, params };
  return withDeadline(probing, what, async (signal) => {
    const response = await probing.fetch(url, {
      method: "POST",
      headers: {
        ...userHeaders,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify(body),
      signal,
    });
    return { response, answer: await answerOf(response) };
  });
}

/** The JSON-RPC message of an answer (JSON, or the first event of a stream), if any. */
async function answerOf(response: Response): Promise<JsonObject | undefined> {
  const type = response.headers.get("content-type") ?? "";
  let text = "";
  if (type.startsWith("text/event-stream") && response.body) {
    // The stream is ended with the probe's signal once this has returned.
    const first = Promise.withResolvers<string>();
    readEventData(response.body, (data) => first.resolve(data)).then(
      () => first.resolve(""),
      () => first.resolve(""),
    );
    text = await first.promise;
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
 * session); `refused` on a 401 or 403, which says nothing of the era, whatever its body;
 * `undefined` when the answer says neither, or none came in time.
 */
async function probeModern(
  probing: Probing,
  attempt = 1,
): Promise<JsonObject | "legacy" | "refused" | undefined> {
  const what = "a 2026-07-28 server/discover";
  const got = await postProbe(
    probing,
    what,
    "server/discover",
    discoverParams(probing.options.clientInfo),
    { "mcp-protocol-version": MODERN_PROTOCOL_VERSION, "mcp-method": "server/discover" },
  );
  if (got === undefined) return undefined;
  const { response, answer } = got;
  const verdict = eraOfDiscoverAnswer(answer ?? {});
  if (response.ok && verdict.era === "modern") {
    probing.options.log.debug(`Detection: ${what} got a 2026-07-28 discover result.`);
    return verdict.discover;
  }
  const error = answer?.error as { code?: number; data?: { supported?: unknown } } | undefined;
  const code = error?.code;
  const supported = error?.data?.supported;
  if (
    code === ProtocolErrorCode.UnsupportedProtocolVersion && attempt < MAX_PROBES &&
    Array.isArray(supported) && supported.includes(MODERN_PROTOCOL_VERSION)
  ) {
    // It names our version among those it supports: the spec says to retry with it.
    return await probeModern(probing, attempt + 1);
  }
  if (code !== undefined && MODERN_ERROR_CODES.has(code)) {
    throw new DetectionError(
      `the remote speaks the 2026-07-28 era but refused ${MODERN_PROTOCOL_VERSION}: ` +
        JSON.stringify(answer?.error),
    );
  }
  noteStatus(probing, what, response.status);
  if (REFUSED_STATUSES.has(response.status)) return "refused";
  return code === undefined ? undefined : "legacy";
}

/** Whether a legacy `initialize` opens a session (which is ended again at once). */
async function probeLegacyHttp(probing: Probing): Promise<boolean> {
  const what = "a legacy Streamable HTTP initialize";
  const { url, headers, clientInfo } = probing.options;
  const got = await postProbe(
    probing,
    what,
    "initialize",
    { protocolVersion: LATEST_LEGACY_PROTOCOL_VERSION, capabilities: {}, clientInfo },
    {},
  );
  if (got === undefined) return false;
  const { response, answer } = got;
  const session = response.headers.get("mcp-session-id");
  if (session !== null) {
    probing.options.log.debug(
      `Detection: ${what} opened session ${sessionIdForLog(session)}; ending it.`,
    );
    // Not waited for: the verdict does not depend on it.
    probing.fetch(url, {
      method: "DELETE",
      headers: { ...headers, "mcp-session-id": session },
      signal: AbortSignal.timeout(probing.options.probeTimeoutMs ?? PROBE_TIMEOUT_MS),
    }).then((r) => r.body?.cancel()).catch(() => {});
  }
  if (response.ok && answer?.result !== undefined) {
    probing.options.log.debug(`Detection: ${what} got a result.`);
    return true;
  }
  noteStatus(probing, what, response.status);
  return false;
}

/** Whether a GET opens an event stream (ended again once seen). */
async function probeSse(probing: Probing): Promise<boolean> {
  const what = "a legacy HTTP+SSE GET";
  const { url, headers } = probing.options;
  const response = await withDeadline(
    probing,
    what,
    (signal) =>
      probing.fetch(url, { headers: { ...headers, accept: "text/event-stream" }, signal }),
  );
  if (response === undefined) return false;
  const ok = response.ok &&
    (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (!ok) noteStatus(probing, what, response.status);
  else probing.options.log.debug(`Detection: ${what} opened an event stream.`);
  return ok;
}
