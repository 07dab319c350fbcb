/**
 * A modern (2026-07-28) Streamable HTTP server reached over plain POSTs: each request is its
 * own POST with the mirrored headers, answered with JSON or an event stream of that request's
 * notifications and its response. No session, no GET stream, no DELETE. A
 * `subscriptions/listen` stream that ends without its response (the remote, or a proxy or load
 * balancer with an idle timeout, closed it) is opened again with backoff.
 * @module
 */
import type { JsonObject } from "../../protocol/envelope.ts";
import {
  errorResponse,
  isObject,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import { requestHeaders, ToolHeaderTable } from "../../protocol/headers.ts";
import { EventTooLargeError, readEventData } from "./sse_events.ts";
import { Backoff, type BackoffOptions, formatDuration, sleep } from "../../io/async.ts";
import { CrossOriginRedirectError, fetchWithinOrigin, type RemoteFetch } from "./redirects.ts";
import { classifySendError, describeCause, ReachabilityReport } from "./legacy_session.ts";
import type { RemoteOptions } from "./options.ts";

/** How long a request waits for an unreachable remote to come back. */
const RETRY_WINDOW_MS = 30_000;

/**
 * Delays before a POST that reached no server is sent again: 200 ms doubling to 5 s, within
 * {@linkcode RETRY_WINDOW_MS}; a failed POST never ran, so nothing resets them.
 */
const POST_BACKOFF: BackoffOptions = {
  initialMs: 200,
  maxMs: 5_000,
  stableMs: Number.POSITIVE_INFINITY,
};

/**
 * Delays before a listen stream is opened again: 1 s, doubled after each stream that failed to
 * open or broke within 10 s, up to 30 s; a stream that lasted 10 s starts over at 1 s.
 */
const LISTEN_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000, stableMs: 10_000 };

/** The remote took the POST, but its answer cannot be used: the request fails with this message. */
class ExchangeError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "ExchangeError";
}

/** How a POST's answer is read, beyond the request itself. */
interface PostOptions {
  /** How long a POST that reached no server is sent again. */
  readonly retryWindowMs: number;
  /** Called when the answer turns out to be an event stream. */
  readonly onStream?: () => void;
}

/** Sends messages to a modern remote; everything it answers goes to `onMessage`. */
export class ModernRemote {
  readonly #options: RemoteOptions;
  readonly #fetch: RemoteFetch;
  readonly #onMessage: (message: WireMessage) => void;
  readonly #tools = new ToolHeaderTable();
  /** POSTs of requests still streaming, by request id: aborting one cancels the request. */
  readonly #inFlight = new Map<RequestId, AbortController>();
  /** Whether POSTs reach the remote, told once per change rather than once per retry. */
  readonly #reachability: ReachabilityReport;

  /** A remote at `options.url` whose messages go to `onMessage`. */
  constructor(options: RemoteOptions, onMessage: (message: WireMessage) => void) {
    this.#options = options;
    this.#fetch = fetchWithinOrigin(options.fetch);
    this.#onMessage = onMessage;
    this.#reachability = new ReachabilityReport(options.log);
  }

  /**
   * Sends one message. A request's answer (or an error response naming what went wrong with
   * the HTTP exchange) always reaches `onMessage`; a notification's refusal is logged.
   */
  async send(message: WireMessage): Promise<void> {
    const id = message.id as RequestId | undefined;
    if (message.method === "notifications/cancelled") {
      // On HTTP, closing the request's stream is the cancellation.
      const requestId = message.params?.requestId as RequestId;
      this.#inFlight.get(requestId)?.abort();
      return;
    }
    const isRequest = id != null && typeof message.method === "string";
    const controller = new AbortController();
    if (isRequest) this.#inFlight.set(id!, controller);
    try {
      const answered = isRequest && message.method === "subscriptions/listen"
        ? await this.#listen(message, controller.signal)
        : await this.#post(message, controller.signal, { retryWindowMs: RETRY_WINDOW_MS });
      if (isRequest && !answered && !controller.signal.aborted) {
        this.#fail(
          id!,
          `mcp-proxy: the remote server ended the stream of ${message.method} without its ` +
            "answer; the request may or may not have been carried out",
          ProtocolErrorCode.ConnectionClosed,
        );
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      const reason = error instanceof ExchangeError || error instanceof CrossOriginRedirectError
        ? error.message
        : `cannot reach the remote server: ${describeCause(error)}`;
      if (isRequest) this.#fail(id!, `mcp-proxy: ${reason}`);
      else this.#options.log.warning(`Could not send ${message.method}: ${reason}`);
    } finally {
      if (isRequest && this.#inFlight.get(id!) === controller) this.#inFlight.delete(id!);
    }
  }

  /**
   * POSTs `message` and reads its answer; resolves whether the request's response came (an
   * event stream may end without it). A POST that reached no server (refused, reset) is sent
   * again with backoff for up to `retryWindowMs`: a modern server has no session to lose, so a
   * restarted one takes the request as it is.
   */
  async #post(message: WireMessage, signal: AbortSignal, options: PostOptions): Promise<boolean> {
    const headers = {
      ...this.#options.headers,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...requestHeaders(
        message as unknown as JsonObject,
        this.#tools.headersOf(message.params?.name),
      ),
    };
    const body = JSON.stringify(message);
    const backoff = new Backoff(POST_BACKOFF);
    const giveUpAt = Date.now() + options.retryWindowMs;
    for (;;) {
      let response: Response;
      try {
        response = await this.#fetch(this.#options.url, {
          method: "POST",
          headers,
          body,
          signal,
        });
      } catch (error) {
        const delay = backoff.next();
        if (signal.aborted || classifySendError(error) !== "undelivered") throw error;
        if (Date.now() + delay > giveUpAt) throw error;
        this.#reachability.failed(
          describeCause(error),
          `sending ${message.method ?? "a response"} again in ${formatDuration(delay)}`,
          `each request is sent again for up to ${formatDuration(options.retryWindowMs)}`,
        );
        await sleep(delay, signal);
        continue;
      }
      this.#reachability.reached();
      this.#options.log.debug(
        `POST ${message.method ?? "(a response)"}: HTTP ${response.status}` +
          ` (${response.headers.get("content-type") ?? "no body type"}).`,
      );
      return await this.#answer(message, response, options.onStream);
    }
  }

  /**
   * Holds a `subscriptions/listen` stream open: one that ends without its response, or breaks,
   * is opened again after a delay ({@linkcode LISTEN_BACKOFF}) until the remote answers it,
   * `signal` aborts (cancelled, or closed) or, the first time, it cannot be opened at all.
   * Resolves whether the response came; each loss, failed attempt and reopening is logged.
   */
  async #listen(message: WireMessage, signal: AbortSignal): Promise<boolean> {
    const log = this.#options.log;
    const backoff = new Backoff(LISTEN_BACKOFF);
    for (let reopening = false;; reopening = true) {
      let openedAt: number | undefined;
      const onStream = () => {
        openedAt = Date.now();
        if (reopening) log.info("Reopened the subscriptions/listen stream.");
      };
      let lost: string;
      try {
        // Reopening retries on its own schedule: one attempt each time.
        const retryWindowMs = reopening ? 0 : RETRY_WINDOW_MS;
        if (await this.#post(message, signal, { retryWindowMs, onStream })) return true;
        lost = "the remote server ended it";
      } catch (error) {
        if (signal.aborted || (!reopening && openedAt === undefined)) throw error;
        lost = error instanceof ExchangeError ? error.message : describeCause(error);
      }
      if (signal.aborted) return false;
      const delay = backoff.next(openedAt === undefined ? 0 : Date.now() - openedAt);
      const next = formatDuration(delay);
      log.warning(
        openedAt === undefined
          ? `Could not reopen the subscriptions/listen stream (${lost}); next attempt in ${next}.`
          : `Lost the subscriptions/listen stream (${lost}); reopening it in ${next}.`,
      );
      await sleep(delay, signal);
      if (signal.aborted) return false;
    }
  }

  /** Stops every request in flight. */
  close(): void {
    for (const controller of this.#inFlight.values()) controller.abort();
    this.#inFlight.clear();
  }

  /**
   * Reads the answer to `request` and delivers it; resolves whether the request's response
   * came. Throws {@linkcode ExchangeError} when the answer is unusable.
   */
  async #answer(
    request: WireMessage,
    response: Response,
    onStream: (() => void) | undefined,
  ): Promise<boolean> {
    const id = request.id as RequestId | undefined;
    const type = response.headers.get("content-type") ?? "";
    if (type.startsWith("text/event-stream") && response.body) {
      onStream?.();
      let answered = false;
      try {
        await readEventData(response.body, (data) => {
          const message = parse(data);
          if (message !== undefined && message.method === undefined && (message.id ?? id) === id) {
            answered = true;
          }
          this.#deliver(request, message);
        });
      } catch (error) {
        if (!(error instanceof EventTooLargeError)) throw error;
        throw new ExchangeError(
          `the remote server's answer to ${request.method} held ${error.message}, more than ` +
            "mcp-proxy accepts; it was given up",
        );
      }
      return answered;
    }
    const text = await response.text();
    const body = text ? parse(text) : undefined;
    if (body !== undefined && ("result" in body || "error" in body)) {
      // Errors are relayed verbatim (a dual-era client decides its era from them); only a
      // missing id is filled in, or the client could not match the answer.
      this.#deliver(
        request,
        body.id === null || body.id === undefined ? { ...body, id } : body,
      );
      return true;
    }
    if (response.ok) return true;
    throw new ExchangeError(
      `the remote server answered HTTP ${response.status} to ${request.method}`,
    );
  }

  #deliver(request: WireMessage, message: WireMessage | undefined): void {
    if (message === undefined) return;
    if (request.method === "tools/list" && message.id === request.id && isObject(message.result)) {
      message = {
        ...message,
        result: this.#tools.learn(
          message.result,
          (tool, reason) =>
            this.#options.log.warning(`Left out tool '${tool}' of the remote's list: ${reason}`),
        ),
      };
    }
    this.#onMessage(message);
  }

  #fail(id: RequestId, message: string, code: number = ProtocolErrorCode.InternalError): void {
    this.#onMessage(errorResponse(id, code, message));
  }
}

/** A JSON-RPC message from the remote, or `undefined` for anything else. */
function parse(text: string): WireMessage | undefined {
  try {
    const value = JSON.parse(text);
    return isObject(value) && value.jsonrpc === "2.0" ? value as unknown as WireMessage : undefined;
  } catch {
    return undefined;
  }
}
