/**
 * The deadline of clients' requests (`--request-timeout`): one timer for every request in
 * flight, because a timer per request costs more than relaying it.
 * @module
 */
import { errorResponse, type Params, ProtocolErrorCode } from "../protocol/jsonrpc.ts";
import type { MuxContext, PendingRequest } from "./mux_session.ts";

/** How often requests are checked against their deadline: a tenth of the limit, 10 ms to 1 s. */
function sweepIntervalMs(requestTimeoutMs: number): number {
  return Math.min(1_000, Math.max(10, requestTimeoutMs / 10));
}

/** What {@linkcode DeadlineSweep} needs of the multiplexer. */
export interface DeadlineHost extends MuxContext {
  /** Forgets a request in flight; returns it if it was. */
  release(upstreamId: number): PendingRequest | undefined;
  /** Sends a notification of the proxy's own upstream. */
  notify(method: string, params: Params): void;
}

/** Times out the requests in flight past their deadline, checking while some have one. */
export class DeadlineSweep {
  readonly #host: DeadlineHost;
  readonly #requestTimeoutMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A sweep of the requests of `host`, which share one limit, `requestTimeoutMs`. */
  constructor(host: DeadlineHost, requestTimeoutMs: number) {
    this.#host = host;
    this.#requestTimeoutMs = requestTimeoutMs;
  }

  /** A request with a deadline was sent: the sweep runs until none is in flight. */
  arm(): void {
    this.#timer ??= setInterval(() => this.#sweep(), sweepIntervalMs(this.#requestTimeoutMs));
  }

  /**
   * Times out the requests past their deadline; stops once no request has one. Requests are
   * in sending order (the order of `pending`) and share one limit, so the first within its
   * deadline ends the look.
   */
  #sweep(): void {
    const now = performance.now();
    for (const [id, request] of this.#host.pending) {
      if (request.deadline === Infinity) continue;
      if (request.deadline > now) return;
      this.#timeOut(id);
    }
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A client's request got no answer in time: the client gets an error, the upstream a cancel. */
  #timeOut(upstreamId: number): void {
    const host = this.#host;
    const request = host.release(upstreamId);
    if (!request?.session) return;
    request.onSettled?.(undefined);
    const seconds = this.#requestTimeoutMs / 1000;
    const reason = `MCP server '${host.name}' did not answer within ${seconds} s ` +
      "(mcp-proxy --request-timeout)";
    host.log.warning(`${reason}; the request was cancelled`);
    host.notify("notifications/cancelled", { requestId: upstreamId, reason });
    const { session, clientId } = request;
    session.deliver(errorResponse(clientId, ProtocolErrorCode.RequestTimeout, reason), clientId);
  }
}
