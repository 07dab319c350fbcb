/**
 * The SDK's client transports to the remote server, and what their errors mean for the relay.
 * @module
 */
import { type ClientModule, type JSONRPCMessage, loadClient, type Transport } from "../../deps.ts";
import type { Logger } from "../../io/log.ts";
import type { ErrorObject, WireMessage } from "../../protocol/jsonrpc.ts";
import type { RemoteOptions } from "./options.ts";

/** One connection (one session) to the remote server. */
export interface RemoteTransport extends Transport {
  /** Sends `MCP-Protocol-Version` from now on. */
  setProtocolVersion(version: string): void;
  /** Ends the session on the server (Streamable HTTP `DELETE`); absent for SSE. */
  terminateSession?(): Promise<void>;
}

/**
 * Sends `message` on `transport`: the one place where the program's loose message type meets
 * the SDK's (which validates nothing on the way out).
 */
export function sendToRemote(transport: RemoteTransport, message: WireMessage): Promise<void> {
  return transport.send(message as JSONRPCMessage);
}

/** Where to reach a legacy remote server, and which transport it speaks. */
export interface LegacyTransportOptions extends Omit<RemoteOptions, "log"> {
  /** Which transport it speaks. */
  readonly transport: "sse" | "streamablehttp";
}

/** The SDK's client once loaded: no error of its transports can exist before. */
let sdk: ClientModule | undefined;

/**
 * Loads the SDK's transports (client mode only) and returns a function that makes a new,
 * unstarted transport for each new session.
 */
export async function remoteTransportFactory(
  options: LegacyTransportOptions,
): Promise<() => RemoteTransport> {
  sdk ??= await loadClient();
  const { SSEClientTransport, StreamableHTTPClientTransport } = sdk;
  const url = new URL(options.url);
  const common = { fetch: options.fetch, requestInit: { headers: options.headers } };
  if (options.transport === "sse") return () => new SSEClientTransport(url, common);
  return () =>
    new StreamableHTTPClientTransport(url, {
      ...common,
      // A stream the server ends is resumed (Last-Event-ID) by the transport; retrying soon
      // also makes a dead server show up fast ("Failed to reconnect"), so that the relay can
      // fail the requests in flight and start a new session.
      reconnectionOptions: {
        initialReconnectionDelay: 100,
        maxReconnectionDelay: 1000,
        reconnectionDelayGrowFactor: 2,
        maxRetries: 2,
      },
    });
}

/** What a transport error reported through `onerror` means. */
export type StreamFailure = "lost" | "harmless";

/**
 * Classifies an `onerror` report: `lost` when the stream that carries server messages broke
 * (responses in flight on it will never come), `harmless` for one bad message and the like.
 */
export function classifyStreamError(error: Error): StreamFailure {
  if (sdk && error instanceof sdk.SseError) return "lost";
  if (sdk && error instanceof sdk.SdkError) {
    // Failed POSTs come here too; the relay judges them where send() rejects. Of the refusals
    // of the standalone GET stream only a vanished session is fatal: others mean the server
    // offers no such stream, which the protocol allows.
    return error instanceof sdk.SdkHttpError && error.status === 404 &&
        error.code === sdk.SdkErrorCode.ClientHttpFailedToOpenStream
      ? "lost"
      : "harmless";
  }
  return /^(SSE stream disconnected|Failed to reconnect SSE stream|Maximum reconnection attempts)/
      .test(error.message)
    ? "lost"
    : "harmless";
}

/** Why `send()` failed, as far as retrying is concerned. */
export type SendFailure =
  /** Never reached the server (connection refused): safe to send again on a new session. */
  | "undelivered"
  /** The server no longer knows the session (404): send again after re-initialising. */
  | "session-gone"
  /** The server received it and refused it, or the outcome is unknown: do not resend. */
  | "failed";

/** Classifies an error thrown by a transport's `send()`. */
export function classifySendError(error: unknown): SendFailure {
  const message = error instanceof Error ? error.message : String(error);
  // Streamable HTTP's errors carry the status; SSE's POST puts it in the message.
  const status = sdk && error instanceof sdk.SdkHttpError
    ? error.status
    : Number(/\(HTTP (\d{3})\)/.exec(message)?.[1]);
  // The SDK's example servers (server-everything among them) answer an unknown session with
  // 400 "No valid session ID provided" instead of the specified 404.
  if (status === 404 || (status === 400 && /session/i.test(message))) return "session-gone";
  const cause = describeCause(error);
  // A certificate the proxy refuses stays refused: retrying cannot help, so the request fails
  // at once. Deno (rustls) reports it inside a "(Connect)" error, Bun on its own.
  if (isCertificateFailure(error)) return "failed";
  if (/\(Connect\)|ECONNREFUSED|Connection refused/i.test(cause)) return "undelivered";
  return "failed";
}

/** Whether `error` says the server's certificate was refused (retrying cannot help). */
export function isCertificateFailure(error: unknown): boolean {
  return CERTIFICATE_FAILURE.test(describeCause(error));
}

/** How rustls (Deno) and BoringSSL (Bun) say that a server's certificate was refused. */
const CERTIFICATE_FAILURE =
  /invalid peer certificate|unable to verify|self[- ]signed certificate|certificate (has expired|verify failed)|CERT_/i;

/**
 * The JSON-RPC error the remote answered a refused request with, when the transport's error
 * carries the response body (Streamable HTTP's in `data.text`, SSE's in the message): relayed
 * as it is, because a dual-era client decides its era from such errors.
 */
export function remoteErrorOf(error: unknown): ErrorObject | undefined {
  const responseText = sdk && error instanceof sdk.SdkHttpError ? error.data.text : undefined;
  const text = typeof responseText === "string"
    ? responseText
    : error instanceof Error
    ? error.message
    : String(error);
  const start = text.indexOf("{");
  if (start === -1) return undefined;
  try {
    const body = JSON.parse(text.slice(start));
    const found = body?.error;
    if (typeof found?.code === "number" && typeof found.message === "string") return found;
  } catch {
    // Not a JSON body: the transport's own words.
  }
  return undefined;
}

/** The message of `error` and of its causes, for logs and classification. */
export function describeCause(error: unknown): string {
  const parts: string[] = [];
  for (let e = error; e !== undefined && parts.length < 5; e = (e as { cause?: unknown }).cause) {
    parts.push(e instanceof Error ? e.message : String(e));
    if (!(e instanceof Error)) break;
  }
  return parts.join(": ");
}

/**
 * Reports whether the remote server can be reached, one line per change rather than one per
 * attempt: the first failure (and a failure with another cause) is a warning, a repeat goes to
 * DEBUG, and reaching the remote again is told once.
 */
export class ReachabilityReport {
  readonly #log: Logger;
  #cause: string | undefined;

  /** A report for a remote that has not failed yet. */
  constructor(log: Logger) {
    this.#log = log;
  }

  /** Why the remote could not be reached last, while it still cannot. */
  get cause(): string | undefined {
    return this.#cause;
  }

  /**
   * An attempt failed because of `cause`; `next` says what happens now, and `policy` (told
   * with the first failure only) what happens after.
   */
  failed(cause: string, next: string, policy?: string): void {
    if (cause === this.#cause) {
      this.#log.debug(`Still cannot reach the remote server; ${next}.`);
      return;
    }
    this.#cause = cause;
    const after = policy === undefined ? "" : ` (${policy})`;
    this.#log.warning(`Cannot reach the remote server: ${cause}; ${next}${after}.`);
  }

  /** The remote answered; `recovery` is logged if it could not be reached before. */
  reached(recovery = "The remote server can be reached again."): void {
    if (this.#cause === undefined) return;
    this.#cause = undefined;
    this.#log.info(recovery);
  }

  /** Forgets the failure without saying so (the caller logs the change in its own words). */
  clear(): void {
    this.#cause = undefined;
  }
}
