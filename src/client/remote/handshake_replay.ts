/**
 * The client's handshake with a legacy remote, recorded as it goes out and replayed on each new
 * session: the client initialised one session only, and must find the next one in the same state.
 * @module
 */
import { deadline } from "../../io/async.ts";
import type { Logger } from "../../io/log.ts";
import { type Params, requestKey, type WireMessage } from "../../protocol/jsonrpc.ts";
import { type RemoteTransport, sendToRemote } from "./legacy_session.ts";
import { SessionState } from "./session_state.ts";

/**
 * What a new session needs to be what the client's was: its `initialize` params, whether it sent
 * `notifications/initialized`, its subscriptions and logging level; and the proxy's own requests
 * that replay them, whose answers are kept from the client.
 */
export class HandshakeReplay {
  readonly #log: Logger;
  /** Longest wait for the answer to each replayed request. */
  readonly #timeoutMs: number;
  /** Params of the client's `initialize` that succeeded. */
  #params: Params | undefined;
  /** The protocol version the remote server answered it with. */
  #protocolVersion: string | undefined;
  /** Whether the client sent `notifications/initialized`. */
  #initialized = false;
  /** Subscriptions and logging level, replayed after `initialize`. */
  readonly state: SessionState = new SessionState();
  /** Requests made here, by id: their resolvers. */
  readonly #own = new Map<string, PromiseWithResolvers<WireMessage>>();
  #ownIds = 0;

  /** A replay with nothing recorded yet, whose requests wait `timeoutMs` for their answers. */
  constructor(log: Logger, timeoutMs: number) {
    this.#log = log;
    this.#timeoutMs = timeoutMs;
  }

  /** Whether the client's `initialize` succeeded: a new session is to be initialised the same. */
  get recorded(): boolean {
    return this.#params !== undefined;
  }

  /** The client sent `notifications/initialized`: a new session gets it too. */
  noteInitialized(): void {
    this.#initialized = true;
  }

  /** The client's `initialize` with `params` got a result in `protocolVersion`. */
  recordInitialize(params: Params, protocolVersion: string): void {
    this.#params = params;
    this.#protocolVersion = protocolVersion;
  }

  /** Initialises the new session on `transport` as the client had initialised the last one. */
  async replay(transport: RemoteTransport): Promise<void> {
    const response = await this.#request(transport, "initialize", this.#params);
    const result = response.result as Record<string, unknown> | undefined;
    if (!result) {
      throw new Error(`the remote server refused to initialise: ${response.error?.message}`);
    }
    const version = result.protocolVersion;
    if (typeof version === "string") {
      if (version !== this.#protocolVersion) {
        this.#log.warning(
          `The new session speaks protocol ${version}; the client negotiated ${this.#protocolVersion}.`,
        );
      }
      transport.setProtocolVersion(version);
    }
    if (this.#initialized) {
      await sendToRemote(transport, { jsonrpc: "2.0", method: "notifications/initialized" });
    }
    for (const { method, params } of this.state.replay()) {
      const answer = await this.#request(transport, method, params);
      if (answer.error) {
        this.#log.warning(`The new session refused ${method}: ${answer.error.message}`);
      }
    }
  }

  /** Takes `message` if it answers a request of the replay's (the one with `key`). */
  answer(key: string, message: WireMessage): boolean {
    const own = this.#own.get(key);
    own?.resolve(message);
    return own !== undefined;
  }

  /** The session broke: the replay's requests on it fail with `reason`. */
  abandon(reason: string): void {
    for (const own of this.#own.values()) own.reject(new Error(reason));
  }

  /** Sends a request of the proxy's own; its answer is not relayed. */
  #request(transport: RemoteTransport, method: string, params?: Params): Promise<WireMessage> {
    const id = `mcp-proxy-${++this.#ownIds}`;
    const answer = Promise.withResolvers<WireMessage>();
    this.#own.set(requestKey(id), answer);
    sendToRemote(transport, { jsonrpc: "2.0", id, method, params }).catch(answer.reject);
    const timeoutMs = this.#timeoutMs;
    return deadline(answer.promise, timeoutMs, `${method} took longer than ${timeoutMs} ms`)
      .finally(() => this.#own.delete(requestKey(id)));
  }
}
