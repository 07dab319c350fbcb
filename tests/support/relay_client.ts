// deno-lint-ignore-file no-explicit-any -- tests dig into arbitrary JSON results
/**
 * An in-test client session of a {@linkcode SharedServer}: a {@linkcode ClientSink} that
 * records what it receives and lets a test send requests and await their responses.
 * @module
 */
import type { RequestId, WireMessage } from "../../src/protocol/jsonrpc.ts";
import { incoming } from "./messages.ts";
import type { ClientSink, MuxSession, SessionOpening, SharedServer } from "../../src/core/types.ts";

/** A message the client received, with the request id the relay related it to. */
export interface Received {
  message: { id?: RequestId; method?: string; params?: any; result?: any; error?: any };
  relatedRequestId?: RequestId;
}

/** Answers a server-to-client request; returns the result, or throws to answer an error. */
export type RequestHandler = (
  request: Received["message"],
) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** A test client attached to a shared server through one session. */
export class TestClient implements ClientSink {
  readonly received: Received[] = [];
  readonly session: MuxSession;
  #waiting = new Map<RequestId, (message: Received["message"]) => void>();
  #watchers: { test: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  #handler: RequestHandler | undefined;

  /** Opens a session on `server` as the client `opening` describes. */
  constructor(server: SharedServer, handler?: RequestHandler, opening?: SessionOpening) {
    this.#handler = handler;
    this.session = server.openSession(this, opening);
  }

  send(message: WireMessage, relatedRequestId?: RequestId): void {
    // A copy, as a real transport would serialise it: later mutation must not show here.
    const copy = structuredClone(message) as Received["message"];
    const entry = { message: copy, relatedRequestId };
    this.received.push(entry);
    if (copy.method === undefined && copy.id !== undefined) {
      this.#waiting.get(copy.id)?.(copy);
      this.#waiting.delete(copy.id);
    } else if (copy.method !== undefined && copy.id !== undefined && this.#handler) {
      this.#answer(copy);
    }
    this.#watchers = this.#watchers.filter((w) => !(w.test(entry) && (w.resolve(entry), true)));
  }

  async #answer(request: Received["message"]) {
    try {
      const result = await this.#handler!(request);
      this.session.receive(incoming({ jsonrpc: "2.0", id: request.id!, result }));
    } catch (error) {
      this.session.receive(incoming({
        jsonrpc: "2.0",
        id: request.id!,
        error: { code: -32603, message: String(error) },
      }));
    }
  }

  /** Sends a request with `id` and resolves with the whole response message (10 s at most). */
  call(id: RequestId, method: string, params?: Record<string, unknown>) {
    const { promise, resolve, reject } = Promise.withResolvers<Received["message"]>();
    // A relay bug should fail the test, not hang it.
    const timer = setTimeout(() => reject(new Error(`no response to ${method} ${id}`)), 10_000);
    this.#waiting.set(id, (message) => {
      clearTimeout(timer);
      resolve(message);
    });
    this.session.receive(incoming({ jsonrpc: "2.0", id, method, params }));
    return promise;
  }

  /** Clears timers of requests that will never be answered (the test cancelled them). */
  forget(id: RequestId): void {
    this.#waiting.get(id)?.({ id });
    this.#waiting.delete(id);
  }

  /** Sends a request and resolves with its result; rejects on an error response. */
  async request(id: RequestId, method: string, params?: Record<string, unknown>): Promise<any> {
    const response = await this.call(id, method, params);
    if (response.error) throw new Error(`${method}: ${JSON.stringify(response.error)}`);
    return response.result;
  }

  /** Sends a notification. */
  notify(method: string, params?: Record<string, unknown>): void {
    this.session.receive(incoming({ jsonrpc: "2.0", method, params }));
  }

  /** Resolves with the first received message (past or future) that passes `test`. */
  waitFor(test: (r: Received) => boolean): Promise<Received> {
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen);
    const { promise, resolve } = Promise.withResolvers<Received>();
    this.#watchers.push({ test, resolve });
    return promise;
  }

  /** Received notifications with `method`. */
  notifications(method: string): Received[] {
    return this.received.filter((r) => r.message.method === method && r.message.id === undefined);
  }

  /** Performs the MCP handshake and returns the initialize result. */
  async initialize(protocolVersion = "2025-11-25"): Promise<any> {
    const result = await this.request("init", "initialize", {
      protocolVersion,
      capabilities: { sampling: {}, roots: {} },
      clientInfo: { name: "relay-test", version: "1" },
    });
    this.notify("notifications/initialized");
    return result;
  }
}
