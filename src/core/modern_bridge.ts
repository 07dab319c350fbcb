/**
 * Modern (2026-07-28) requests served by a legacy server that is shared through the
 * multiplexer: each request becomes traffic on a client session of the proxy's own, and the
 * answers come back dressed as modern ones.
 *
 * - Every request opens a multiplexer session, "initialises" it from the envelope (the
 *   multiplexer answers from the server's cached handshake, so this costs no round trip to
 *   the child), applies the request's log level, and forwards the request with the envelope
 *   stripped. Progress, and logs when a level was asked for, go to the request's own stream.
 * - `server/discover` is answered from the cached `initialize` result.
 * - `subscriptions/listen` keeps its session open and relays the list-changed and resource
 *   notifications the client opted in to, acknowledged first and tagged with its id.
 * - A server-to-client request of the child during a call (elicitation, sampling, roots)
 *   becomes a multi round-trip: the child's call stays parked here, the client gets
 *   `input_required` with a sealed `requestState`, and its retry feeds the answers back.
 *   A parked call the client abandons is cancelled to the child and freed after a timeout.
 *   Each state opens one round only, for the client it was handed to; how many calls may be
 *   in a multi round-trip is capped per client and for the whole process.
 * @module
 */
import {
  errorResponse,
  isObject,
  ProtocolErrorCode,
  type RequestMessage,
} from "../protocol/jsonrpc.ts";
import type { JsonObject } from "../protocol/envelope.ts";
import type { ModernPost } from "../protocol/http_classify.ts";
import { credentialOf, type ParkedRef, RequestStateSealer } from "../protocol/request_state.ts";
import {
  describe,
  type ModernBridgeOptions,
  type ModernCall,
  type ModernReply,
  type SessionOpener,
} from "./bridge_session.ts";
import { BridgedRequest, type Parking } from "./bridged_request.ts";
import { listenRefusal, ListenStream } from "./listen_stream.ts";
import { ParkedCalls } from "./parked_calls.ts";

/** The count every bridge of the process shares, so that its caps hold for the process. */
const PROCESS_PARKED_CALLS = new ParkedCalls();

/** The error a retry gets whose `requestState` opens no parked round here. */
export const INVALID_REQUEST_STATE: string =
  "Invalid requestState: it was altered, has expired, was " +
  "used already, or belongs to another request or client";

/** Serves modern requests through client sessions of one shared legacy server. */
export class ModernBridge implements Parking {
  readonly #server: SessionOpener;
  readonly #options: Required<ModernBridgeOptions>;
  readonly #sealer: RequestStateSealer;
  /** Calls waiting for a client's retry, by parked id: a retry finds its call in one look. */
  readonly #parked = new Map<string, BridgedRequest>();

  /** A bridge to `server`. */
  constructor(server: SessionOpener, options: ModernBridgeOptions) {
    this.#server = server;
    this.#options = {
      parkTimeoutMs: 300_000,
      gatherMs: 50,
      parkedCalls: PROCESS_PARKED_CALLS,
      sealing: {},
      ...options,
    };
    this.#sealer = new RequestStateSealer(Date.now, this.#options.sealing);
  }

  /** How many calls wait for a client's input (for tests and status). */
  get parkedCount(): number {
    return this.#parked.size;
  }

  /** Serves one modern request; `reply` gets its messages. */
  serve(post: ModernPost, reply: ModernReply): ModernCall {
    const { request, envelope } = post;
    const params = isObject(request.params) ? request.params : {};
    if (request.method === "subscriptions/listen") {
      const refusal = listenRefusal(request.id, params);
      if (refusal) {
        reply.send(refusal);
        return { close() {} };
      }
      return new ListenStream(this.#server, request.id, params, envelope, reply, {
        ...this.#options,
        opening: { headers: post.headers, modern: true, client: post.client },
      });
    }
    // A modern child gets modern requests as they are: its requestState is its own.
    const relay = this.#server.era === "modern";
    const client = () => post.headers === undefined ? "" : credentialOf(post.headers);
    if (!relay && typeof params.requestState === "string") {
      return this.#resume(request, params, reply, client());
    }
    return new BridgedRequest(this, this.#server, request, params, envelope, reply, {
      relay,
      client,
      opening: { headers: post.headers, modern: true, client: post.client },
    });
  }

  /**
   * Called by a call whose child asked for input: keeps the call until the client's retry
   * (or the park timeout) and seals a state for this round, for `client` alone.
   */
  async park(call: BridgedRequest, ref: ParkedRef, client: string): Promise<string> {
    const { parkedId, method } = ref;
    this.#parked.set(parkedId, call);
    call.startParkTimer(this.#options.parkTimeoutMs, () => {
      if (this.#parked.get(parkedId) !== call) return;
      this.#parked.delete(parkedId);
      this.#options.log.info(
        `A ${method} call waited ${Math.round(this.#options.parkTimeoutMs / 1000)} s for the ` +
          "client's input; cancelling it",
      );
      call.abandon();
    });
    return await this.#sealer.seal(ref, client, this.#options.parkTimeoutMs);
  }

  /** Forgets a parked call (it ended). */
  unpark(parkedId: string, call: BridgedRequest): void {
    if (this.#parked.get(parkedId) === call) this.#parked.delete(parkedId);
  }

  /** The options every call shares. */
  get options(): Required<ModernBridgeOptions> {
    return this.#options;
  }

  /**
   * A retry carrying a `requestState`: the parked call it names takes it over, if the state
   * is of the round the call waits on and `client` is the one it was handed to.
   */
  #resume(
    request: RequestMessage,
    params: JsonObject,
    reply: ModernReply,
    client: string,
  ): ModernCall {
    const retry = new Retry();
    this.#sealer.open(params.requestState as string, client).then((ref) => {
      if (retry.closed) return;
      const call = ref?.method === request.method ? this.#parked.get(ref.parkedId) : undefined;
      if (!ref || !call || call.round !== ref.round) {
        reply.send(
          errorResponse(request.id, ProtocolErrorCode.InvalidParams, INVALID_REQUEST_STATE),
        );
        return;
      }
      this.#parked.delete(ref.parkedId);
      retry.call = call;
      call.resume(request.id, params.inputResponses, reply);
    }).catch((error) => {
      this.#options.log.error(`A retry of a ${request.method} call failed: ${describe(error)}`);
      retry.close();
    });
    return retry;
  }
}

/** A retry whose `requestState` is being checked, then the call it resumed. */
class Retry implements ModernCall {
  closed = false;
  call: BridgedRequest | undefined;

  close(): void {
    this.closed = true;
    this.call?.close();
  }
}
