/**
 * A modern (2026-07-28) Streamable HTTP server reached over plain POSTs: each request is its
 * own POST with the mirrored headers, answered with JSON or an event stream of that request's
 * notifications and its response. No session, no GET stream, no DELETE.
 * @module
 */
import type { Logger } from "../log.ts";
import type { JsonObject } from "../era/envelope.ts";
import {
  errorResponse,
  isObject,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../shared/jsonrpc.ts";
import { requestHeaders, ToolHeaderTable } from "../era/headers.ts";
import { readEventData } from "../era/sse_events.ts";
import { Backoff, sleep } from "../shared/async.ts";
import { classifySendError, describeCause } from "./remote.ts";

/** Where and how to reach the remote. */
export interface ModernRemoteOptions {
  /** The remote MCP server's URL. */
  readonly url: string;
  /** Sent with every request (the user's `--headers`, a token). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `fetch` for the remote: TLS options applied, OAuth token attached. */
  readonly fetch: typeof fetch;
  /** Where failed sends, retries and left-out tools are reported. */
  readonly log: Logger;
}

/** How long a request waits for an unreachable remote to come back. */
const RETRY_WINDOW_MS = 30_000;

/** Sends messages to a modern remote; everything it answers goes to `onMessage`. */
export class ModernRemote {
  readonly #options: ModernRemoteOptions;
  readonly #onMessage: (message: WireMessage) => void;
  readonly #tools = new ToolHeaderTable();
  /** POSTs of requests still streaming, by request id: aborting one cancels the request. */
  readonly #inFlight = new Map<RequestId, AbortController>();

  /** A remote at `options.url` whose messages go to `onMessage`. */
  constructor(options: ModernRemoteOptions, onMessage: (message: WireMessage) => void) {
    this.#options = options;
    this.#onMessage = onMessage;
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
      await this.#post(message, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      const reason = `mcp-proxy: cannot reach the remote server: ${describeCause(error)}`;
      if (isRequest) this.#fail(id!, reason);
      else this.#options.log.warning(`Could not send ${message.method}: ${describeCause(error)}`);
    } finally {
      if (isRequest && this.#inFlight.get(id!) === controller) this.#inFlight.delete(id!);
    }
  }

  /**
   * POSTs `message` and reads its answer. A POST that reached no server (refused, reset) is
   * sent again with backoff for up to {@linkcode RETRY_WINDOW_MS}: a modern server has no
   * session to lose, so a restarted one takes the request as it is.
   */
  async #post(message: WireMessage, signal: AbortSignal): Promise<void> {
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
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000, stableMs: 0 });
    const giveUpAt = Date.now() + RETRY_WINDOW_MS;
    for (;;) {
      let response: Response;
      try {
        response = await this.#options.fetch(this.#options.url, {
          method: "POST",
          headers,
          body,
          signal,
        });
      } catch (error) {
        const delay = backoff.next(0);
        if (signal.aborted || classifySendError(error) !== "undelivered") throw error;
        if (Date.now() + delay > giveUpAt) throw error;
        this.#options.log.warning(
          `Cannot reach the remote server: ${describeCause(error)}; retrying in ${delay} ms.`,
        );
        await sleep(delay, signal);
        continue;
      }
      return await this.#answer(message, response);
    }
  }

  /** Stops every request in flight. */
  close(): void {
    for (const controller of this.#inFlight.values()) controller.abort();
    this.#inFlight.clear();
  }

  async #answer(request: WireMessage, response: Response): Promise<void> {
    const id = request.id as RequestId | undefined;
    const type = response.headers.get("content-type") ?? "";
    if (type.startsWith("text/event-stream") && response.body) {
      await readEventData(response.body, (data) => this.#deliver(request, parse(data)));
      return;
    }
    const text = await response.text();
    const body = text ? parse(text) : undefined;
    if (body !== undefined && ("result" in body || "error" in body)) {
      // Errors are relayed verbatim (a dual-era client decides its era from them); only a
      // missing id is filled in, or the client could not match the answer.
      return this.#deliver(
        request,
        body.id === null || body.id === undefined ? { ...body, id } : body,
      );
    }
    if (response.ok) return;
    const what = `the remote server answered HTTP ${response.status} to ${request.method}`;
    if (id === undefined || id === null) return this.#options.log.warning(what);
    this.#fail(id, `mcp-proxy: ${what}`);
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

  #fail(id: RequestId, message: string): void {
    this.#onMessage(errorResponse(id, ProtocolErrorCode.InternalError, message));
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
