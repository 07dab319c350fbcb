/**
 * One modern request carried over a multiplexer session, and its retries: the answer comes
 * back dressed as a modern one, and the child's server-to-client requests during the call
 * become a multi round-trip (the call parked with the bridge between rounds).
 * @module
 */
import {
  type ErrorObject,
  errorResponse,
  isObject,
  ProtocolErrorCode,
  type RequestId,
  type RequestMessage,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import { type Envelope, type JsonObject, stripEnvelope } from "../protocol/envelope.ts";
import {
  discoverFromInitialize,
  INPUT_REQUIRED_METHODS,
  modernError,
  modernResult,
  serverInfoOf,
} from "../protocol/results.ts";
import type { ParkedRef } from "../protocol/request_state.ts";
import type { MuxSession, SessionOpening } from "./types.ts";
import {
  describe,
  incoming,
  INITIALIZE_ID,
  type ModernBridgeOptions,
  type ModernCall,
  type ModernReply,
  openSessionFor,
  type SessionOpener,
} from "./bridge_session.ts";

/** The client capability each server-to-client request needs. */
const CAPABILITY_OF: Readonly<Record<string, string>> = {
  "elicitation/create": "elicitation",
  "sampling/createMessage": "sampling",
  "roots/list": "roots",
};

/** What a call needs of its bridge: the shared options, and where it waits between rounds. */
export interface Parking {
  /** The options every call shares. */
  readonly options: Required<ModernBridgeOptions>;
  /**
   * Keeps `call` until the client's retry (or the park timeout); resolves with the state
   * sealed for this round, for `client` alone.
   */
  park(call: BridgedRequest, ref: ParkedRef, client: string): Promise<string>;
  /** Forgets a parked call (it ended). */
  unpark(parkedId: string, call: BridgedRequest): void;
}

/** One modern request (and its retries) carried over a multiplexer session. */
export class BridgedRequest implements ModernCall {
  readonly #bridge: Parking;
  /** The child is modern too: its answers go back as they are. */
  readonly #relay: boolean;
  readonly #session: MuxSession;
  readonly #method: string;
  readonly #envelope: Envelope;
  /** The id the multiplexer knows the request by: the client's first id. */
  readonly #muxId: RequestId;
  /** The id of the client's latest attempt, which the answer must carry. */
  #clientId: RequestId;
  #reply: ModernReply;
  #serverInfo: JsonObject | undefined;
  /** Input requests of the child not yet answered, by the key the client sees. */
  readonly #inputs = new Map<string, { id: RequestId; method: string; params: unknown }>();
  #nextInputKey = 0;
  #gatherTimer: ReturnType<typeof setTimeout> | undefined;
  #parkTimer: ReturnType<typeof setTimeout> | undefined;
  /** Who sent the request (see `credentialOf`), worked out when it is first needed. */
  readonly #whoSent: () => string;
  /** Once the call entered a multi round-trip: its parked id, and whom it is counted against. */
  #parking: { readonly id: string; readonly client: string } | undefined;
  #round = 0;
  /** running: the child works on it; parked: it waits for the client's retry; done: answered. */
  #state: "running" | "parked" | "done" = "running";

  /**
   * Sends `request` on a new session (a legacy child's `server/discover`: the handshake only).
   * `relay`: the child is modern too; `client` tells who sent the request.
   */
  constructor(
    bridge: Parking,
    server: SessionOpener,
    request: RequestMessage,
    params: JsonObject,
    envelope: Envelope,
    reply: ModernReply,
    { relay, client, opening }: {
      relay: boolean;
      client: () => string;
      opening: SessionOpening;
    },
  ) {
    this.#bridge = bridge;
    this.#relay = relay;
    this.#whoSent = client;
    this.#method = request.method;
    this.#envelope = envelope;
    this.#muxId = request.id;
    this.#clientId = request.id;
    this.#reply = reply;
    this.#session = server.openSession({
      send: (message, relatedRequestId) => this.#fromMux(message, relatedRequestId),
    }, opening);
    openSessionFor(this.#session, envelope, bridge.options.legacyVersion);
    if (request.method === "server/discover" && !relay) return;
    this.#session.receive(incoming({
      jsonrpc: "2.0",
      id: request.id,
      method: request.method,
      params: relay ? params : stripEnvelope(params),
    }));
  }

  /** The client went away. A parked call stays (the retry comes on another POST). */
  close(): void {
    if (this.#state !== "running") return;
    this.#finish();
  }

  /** The client's retry: its id answers from now on, its input responses go to the child. */
  resume(clientId: RequestId, inputResponses: unknown, reply: ModernReply): void {
    clearTimeout(this.#parkTimer);
    this.#clientId = clientId;
    this.#reply = reply;
    this.#state = "running";
    const responses = isObject(inputResponses) ? inputResponses : {};
    for (const [key, input] of [...this.#inputs]) {
      if (!Object.hasOwn(responses, key)) continue;
      const answer = responses[key];
      this.#inputs.delete(key);
      this.#session.receive(incoming(
        isObject(answer) ? { jsonrpc: "2.0", id: input.id, result: answer } : errorResponse(
          input.id,
          ProtocolErrorCode.InvalidParams,
          `Invalid input response '${key}'`,
        ),
      ));
    }
    // What the client left unanswered is asked again (the spec's SHOULD, not an error).
    if (this.#inputs.size > 0) this.#askForInputContained();
  }

  /** The round of input requests the call waits on (a state of another one is spent). */
  get round(): number {
    return this.#round;
  }

  /** Starts the timer after which an unanswered park is given up. */
  startParkTimer(ms: number, onTimeout: () => void): void {
    this.#parkTimer = setTimeout(onTimeout, ms);
  }

  /** The client never came back: the child's call is cancelled and everything freed. */
  abandon(): void {
    this.#finish();
  }

  #fromMux(message: WireMessage, relatedRequestId: RequestId | undefined): void {
    if (this.#state === "done") return;
    const { id, method } = message;
    if (method === undefined) return this.#response(message);
    if (id !== undefined && id !== null) return this.#inputRequest(message);
    // A notification: only what belongs to this request reaches its client.
    if (relatedRequestId !== this.#muxId) return;
    if (method === "notifications/progress") return this.#send(message);
    if (method === "notifications/message" && this.#envelope.logLevel !== undefined) {
      return this.#send(message);
    }
  }

  #response(message: WireMessage): void {
    const id = message.id;
    if (id === INITIALIZE_ID) {
      if (!isObject(message.result)) {
        // The server is not serving (its start failed, its remote refused it): a discover
        // answered from nothing would tell the client that it is.
        if (this.#method === "server/discover" && !this.#relay) {
          this.#answer({
            error: modernError(
              message.error ?? { code: ProtocolErrorCode.InternalError, message: "" },
            ),
          });
        }
        return;
      }
      const result = message.result;
      this.#serverInfo = serverInfoOf(result);
      if (this.#method === "server/discover" && !this.#relay) {
        const versions = this.#bridge.options.supportedVersions;
        this.#answer({ result: discoverFromInitialize(result, versions) });
      }
      return;
    }
    if (id !== this.#muxId) return;
    if (this.#relay) {
      if (!isObject(message.result)) return this.#answer({ error: message.error! });
      // The proxy serves legacy sessions too: its discover result says so.
      const result = this.#method === "server/discover"
        ? { ...message.result, supportedVersions: [...this.#bridge.options.supportedVersions] }
        : message.result;
      return this.#answer({ result });
    }
    if (isObject(message.result)) {
      this.#answer({ result: modernResult(this.#method, message.result, this.#serverInfo) });
    } else {
      this.#answer({
        error: modernError(message.error ?? { code: ProtocolErrorCode.InternalError, message: "" }),
      });
    }
  }

  /** A server-to-client request of the child: gathered into the next `input_required`. */
  #inputRequest(message: WireMessage): void {
    const method = String(message.method);
    const id = message.id as RequestId;
    const capability = CAPABILITY_OF[method];
    const declared = capability !== undefined &&
      this.#envelope.clientCapabilities[capability] !== undefined;
    if (!declared || !INPUT_REQUIRED_METHODS.has(this.#method)) {
      const why = capability === undefined
        ? `mcp-proxy cannot relay ${method} to a ${this.#method} request of the 2026-07-28 era`
        : `The client did not declare the '${capability}' capability ${method} needs`;
      this.#session.receive(incoming(
        errorResponse(
          id,
          capability === undefined
            ? ProtocolErrorCode.InternalError
            : ProtocolErrorCode.MissingRequiredClientCapability,
          why,
          {
            requiredCapabilities: capability === undefined ? undefined : { [capability]: {} },
          },
        ),
      ));
      return;
    }
    this.#inputs.set(`input-${++this.#nextInputKey}`, { id, method, params: message.params });
    // Requests the child sends together go out in one round.
    clearTimeout(this.#gatherTimer);
    this.#gatherTimer = setTimeout(
      () => this.#askForInputContained(),
      this.#bridge.options.gatherMs,
    );
  }

  /** {@linkcode #askForInput} from a timer: a failure ends this call, and only this call. */
  #askForInputContained(): void {
    this.#askForInput().catch((error) => {
      this.#bridge.options.log.error(
        `A ${this.#method} call could not ask its client for input: ${describe(error)}`,
      );
      this.#finish();
    });
  }

  /**
   * Answers the client's attempt with `input_required` for what the child waits for; the
   * first time, if the caps on calls in a multi round-trip admit it, else with an error.
   */
  async #askForInput(): Promise<void> {
    if (this.#state !== "running" || this.#inputs.size === 0) return;
    let parking = this.#parking;
    if (parking === undefined) {
      const client = this.#whoSent();
      const refusal = this.#bridge.options.parkedCalls.enter(client);
      if (refusal !== undefined) {
        return this.#answer({ error: { code: ProtocolErrorCode.InternalError, message: refusal } });
      }
      parking = this.#parking = { id: crypto.randomUUID(), client };
    }
    this.#state = "parked";
    const inputRequests: JsonObject = {};
    for (const [key, { method, params }] of this.#inputs) {
      inputRequests[key] = { method, params: isObject(params) ? params : {} };
    }
    const requestState = await this.#bridge.park(
      this,
      { parkedId: parking.id, method: this.#method, round: ++this.#round },
      parking.client,
    );
    if (this.#state !== "parked") return;
    this.#send({
      jsonrpc: "2.0",
      id: this.#clientId,
      result: modernResult(
        this.#method,
        { resultType: "input_required", inputRequests, requestState },
        this.#serverInfo,
      ),
    });
  }

  #answer(outcome: { result: JsonObject } | { error: ErrorObject }): void {
    this.#send({ jsonrpc: "2.0", id: this.#clientId, ...outcome });
    this.#finish();
  }

  #send(message: WireMessage): void {
    this.#reply.send(message);
  }

  /** Ends the call: the session closes (cancelling what the child still works on). */
  #finish(): void {
    if (this.#state === "done") return;
    this.#state = "done";
    clearTimeout(this.#gatherTimer);
    clearTimeout(this.#parkTimer);
    const parking = this.#parking;
    if (parking !== undefined) {
      this.#bridge.unpark(parking.id, this);
      this.#bridge.options.parkedCalls.leave(parking.client);
    }
    this.#session.close();
  }
}
