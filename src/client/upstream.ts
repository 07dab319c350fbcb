/**
 * The remote side of client mode: one logical MCP session that outlives its connections.
 *
 * Messages are relayed untouched. The upstream only watches a few of them: the client's
 * `initialize` (its params are replayed to a new session), `notifications/initialized`,
 * subscriptions and the logging level (replayed too), and request ids (so that requests lost
 * with a connection get an error instead of hanging).
 * @module
 */
import type { JSONRPCMessage, RequestId } from "../deps.ts";
import type { Logger } from "../log.ts";
import {
  classifySendError,
  classifyStreamError,
  describeCause,
  type RemoteTransport,
} from "./remote.ts";
import { SessionState } from "./session_state.ts";

/** SDK `ErrorCode.ConnectionClosed`: the request was lost with its connection. */
export const CONNECTION_CLOSED = -32000;
/** SDK `ErrorCode.RequestTimeout`: the request waited too long for a connection. */
export const REQUEST_TIMEOUT = -32001;
/** JSON-RPC "Internal error": the remote server did not accept the request. */
export const INTERNAL_ERROR = -32603;

/** The fields of a JSON-RPC message the upstream routes on. */
interface Wire {
  jsonrpc: "2.0";
  id?: RequestId | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** Timings of the upstream, in milliseconds. */
export interface UpstreamTimings {
  /** First reconnection delay; doubled after each failed attempt. */
  backoffInitialMs: number;
  /** Largest reconnection delay. */
  backoffMaxMs: number;
  /** A connection that lasted this long resets the backoff. */
  stableMs: number;
  /** Longest wait for a connection before a queued request gets an error. */
  queueTimeoutMs: number;
  /** Longest time to connect and re-initialise a session. */
  openTimeoutMs: number;
  /** Longest wait at shutdown for sends in progress and the session's termination. */
  shutdownMs: number;
}

/** Default timings. */
export const DEFAULT_TIMINGS: UpstreamTimings = {
  backoffInitialMs: 200,
  backoffMaxMs: 5_000,
  stableMs: 10_000,
  queueTimeoutMs: 30_000,
  openTimeoutMs: 10_000,
  shutdownMs: 2_000,
};

/** What the upstream needs. */
export interface UpstreamOptions {
  /** Makes a new, unstarted transport; called once per session. */
  newTransport: () => RemoteTransport;
  /** Hands a message from the remote server (or an error made here) to the local client. */
  deliver: (message: JSONRPCMessage) => void;
  log: Logger;
  timings?: Partial<UpstreamTimings>;
}

function isRequest(message: Wire): message is Wire & { id: RequestId; method: string } {
  return message.method !== undefined && message.id !== undefined && message.id !== null;
}

function isResponse(message: Wire): message is Wire & { id: RequestId } {
  return message.method === undefined && message.id !== undefined && message.id !== null;
}

/** Ids 1 and "1" are different requests. */
function idKey(id: RequestId): string {
  return `${typeof id}:${id}`;
}

function errorResponse(id: RequestId, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

function describe(message: Wire): string {
  return message.method ?? `the response to ${JSON.stringify(message.id)}`;
}

/** Settles with `promise`, or rejects once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A self-healing connection to the remote server.
 *
 * While no connection is open, messages from the client wait in a queue (requests for at most
 * `queueTimeoutMs`). When a connection is lost, the requests sent on it get a JSON-RPC error at
 * once, and a new session is opened with capped exponential backoff; if the client had
 * initialised, its `initialize` params, `notifications/initialized`, resource subscriptions and
 * logging level are replayed first, and the answers are kept from the client.
 */
export class Upstream {
  #newTransport: () => RemoteTransport;
  #deliver: (message: JSONRPCMessage) => void;
  #log: Logger;
  #timings: UpstreamTimings;

  #state: "connecting" | "open" | "closed" = "connecting";
  #transport?: RemoteTransport;
  #queue: { message: Wire; since: number }[] = [];
  /** Requests sent on the current transport and not answered yet. */
  #inFlight = new Map<string, Wire>();
  /** The client's `initialize` requests in flight, by id: their params. */
  #initializing = new Map<string, Record<string, unknown>>();
  /** Params of the client's `initialize` that succeeded: replayed on every new session. */
  #initParams?: Record<string, unknown>;
  #protocolVersion?: string;
  /** Whether the client sent `notifications/initialized`. */
  #initialized = false;
  /** Subscriptions and logging level, replayed after `initialize`. */
  #session = new SessionState();
  /** Requests made here (re-initialisation), by id: their resolvers. */
  #own = new Map<string, { resolve: (m: Wire) => void; reject: (e: Error) => void }>();
  #ownIds = 0;
  #sends = new Set<Promise<void>>();
  #failures = 0;
  #connectedAt = 0;
  #wake?: () => void;

  constructor(options: UpstreamOptions) {
    this.#newTransport = options.newTransport;
    this.#deliver = options.deliver;
    this.#log = options.log;
    this.#timings = { ...DEFAULT_TIMINGS, ...options.timings };
  }

  /** Starts connecting in the background. */
  start(): void {
    this.#connectLoop();
  }

  /** Relays a message from the client, now or once a connection is open. */
  send(message: JSONRPCMessage): void {
    const wire = message as Wire;
    if (this.#state === "closed") return;
    // Until `initialize` is answered there is no session (id) to send anything else on.
    if (this.#state === "open" && this.#initializing.size === 0) return this.#forward(wire);
    if (this.#state !== "open" && isResponse(wire)) {
      // It answers a request of a session that is gone; a new session would not know its id.
      this.#log.warning(`Dropped ${describe(wire)}: the remote session it belongs to is gone.`);
      return;
    }
    this.#queue.push({ message: wire, since: Date.now() });
    // Someone is waiting: try now rather than at the end of the backoff delay.
    this.#wake?.();
  }

  /** Ends the remote session (Streamable HTTP: `DELETE`) after the sends in progress. */
  async close(): Promise<void> {
    this.#state = "closed";
    this.#wake?.();
    const { shutdownMs } = this.#timings;
    await within(Promise.allSettled([...this.#sends]), shutdownMs, "Sending").catch(() => {});
    if (this.#queue.length > 0) {
      this.#log.warning(
        `${this.#queue.length} message(s) were not delivered: the remote server was unreachable.`,
      );
    }
    const transport = this.#transport;
    this.#transport = undefined;
    if (!transport) return;
    try {
      await within(transport.terminateSession?.() ?? Promise.resolve(), shutdownMs, "DELETE");
    } catch (error) {
      this.#log.warning(`Could not end the remote session: ${describeCause(error)}`);
    }
    this.#discard(transport);
  }

  async #connectLoop(): Promise<void> {
    while (this.#state === "connecting") {
      if (this.#failures > 0) await this.#sleep(this.#backoffDelay());
      if (this.#state !== "connecting") return;
      try {
        await this.#openSession();
        return;
      } catch (error) {
        if (this.#state !== "connecting") return;
        this.#failures++;
        this.#log.warning(
          `Cannot reach the remote server: ${describeCause(error)}; ` +
            `next attempt in ${this.#backoffDelay()} ms.`,
        );
        this.#expireQueue();
      }
    }
  }

  #backoffDelay(): number {
    const { backoffInitialMs, backoffMaxMs } = this.#timings;
    return Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.max(0, this.#failures - 1));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wake = wake;
    });
  }

  async #openSession(): Promise<void> {
    const transport = this.#newTransport();
    transport.onmessage = (message) => this.#onRemoteMessage(transport, message as Wire);
    transport.onerror = (error) => this.#onRemoteError(transport, error);
    this.#transport = transport;
    const replay = this.#initParams !== undefined;
    try {
      await within(transport.start(), this.#timings.openTimeoutMs, "Connecting");
      if (replay) await this.#reinitialize(transport);
    } catch (error) {
      if (this.#transport === transport) {
        this.#transport = undefined;
        this.#discard(transport);
      }
      throw error;
    }
    if (this.#transport !== transport) throw new Error("the connection broke while it was set up");
    // close() came meanwhile: it ends this session.
    if (this.#state !== "connecting") return;
    this.#state = "open";
    this.#connectedAt = Date.now();
    if (replay) this.#log.info("Reconnected to the remote server and re-initialised the session.");
    this.#flush();
  }

  /** Sends what waited, up to and including a client's `initialize` (the rest waits for it). */
  #flush(): void {
    while (this.#state === "open" && this.#initializing.size === 0 && this.#queue.length > 0) {
      this.#forward(this.#queue.shift()!.message);
    }
  }

  async #reinitialize(transport: RemoteTransport): Promise<void> {
    const response = await this.#request(transport, "initialize", this.#initParams);
    if (!response.result) {
      throw new Error(`the remote server refused to initialise: ${response.error?.message}`);
    }
    const version = response.result.protocolVersion;
    if (typeof version === "string") {
      if (version !== this.#protocolVersion) {
        this.#log.warning(
          `The new session speaks protocol ${version}; the client negotiated ${this.#protocolVersion}.`,
        );
      }
      transport.setProtocolVersion(version);
    }
    if (this.#initialized) {
      await transport.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    }
    for (const { method, params } of this.#session.replay()) {
      const answer = await this.#request(transport, method, params);
      if (answer.error) {
        this.#log.warning(`The new session refused ${method}: ${answer.error.message}`);
      }
    }
  }

  /** Sends a request of the proxy's own; its answer is not relayed. */
  #request(transport: RemoteTransport, method: string, params?: Record<string, unknown>) {
    const id = `mcp-proxy-${++this.#ownIds}`;
    const { promise, resolve, reject } = Promise.withResolvers<Wire>();
    this.#own.set(idKey(id), { resolve, reject });
    transport.send({ jsonrpc: "2.0", id, method, params }).catch(reject);
    return within(promise, this.#timings.openTimeoutMs, method).finally(() =>
      this.#own.delete(idKey(id))
    );
  }

  #forward(message: Wire): void {
    const transport = this.#transport!;
    if (isRequest(message)) {
      this.#inFlight.set(idKey(message.id), message);
      this.#session.request(message.id, message.method, message.params);
      if (message.method === "initialize") {
        this.#initializing.set(idKey(message.id), message.params ?? {});
      }
    } else if (message.method === "notifications/initialized") {
      this.#initialized = true;
    }
    const sending = transport.send(message as JSONRPCMessage).catch((error) =>
      this.#sendFailed(transport, message, error)
    );
    this.#sends.add(sending);
    sending.finally(() => this.#sends.delete(sending));
  }

  #sendFailed(transport: RemoteTransport, message: Wire, error: unknown): void {
    const key = isRequest(message) ? idKey(message.id) : undefined;
    // Already answered with an error: its connection was lost while it was being sent.
    if (key !== undefined && !this.#inFlight.has(key)) return;
    if (key !== undefined) {
      this.#inFlight.delete(key);
      this.#initializing.delete(key);
      this.#session.response(message.id!, false);
    }
    const failure = classifySendError(error);
    if (failure !== "failed" && this.#state !== "closed") {
      // The server never processed it: send it again on the next session.
      this.#queue.unshift({ message, since: Date.now() });
      this.#lose(
        transport,
        failure === "session-gone" ? "the remote session is gone" : describeCause(error),
      );
      // From a transport already replaced, it can go out on the new session at once.
      this.#flush();
      return;
    }
    this.#log.warning(
      `The remote server did not take ${describe(message)}: ${describeCause(error)}`,
    );
    if (isRequest(message)) {
      this.#deliver(errorResponse(
        message.id,
        INTERNAL_ERROR,
        `mcp-proxy: the remote server did not take the request: ${describeCause(error)}`,
      ));
    }
    this.#flush();
  }

  #onRemoteMessage(transport: RemoteTransport, message: Wire): void {
    if (transport !== this.#transport) return;
    if (!isResponse(message)) return this.#deliver(message as JSONRPCMessage);
    const key = idKey(message.id);
    const own = this.#own.get(key);
    if (own) return own.resolve(message);
    this.#inFlight.delete(key);
    this.#session.response(message.id, message.result !== undefined);
    this.#deliver(message as JSONRPCMessage);
    const params = this.#initializing.get(key);
    if (!params) return;
    this.#initializing.delete(key);
    const version = message.result?.protocolVersion;
    if (typeof version === "string") {
      this.#initParams = params;
      this.#protocolVersion = version;
      transport.setProtocolVersion(version);
    }
    this.#flush();
  }

  #onRemoteError(transport: RemoteTransport, error: Error): void {
    if (transport !== this.#transport) return;
    if (classifyStreamError(error) === "lost") return this.#lose(transport, describeCause(error));
    // Failed sends are reported here too, and again (with their outcome) by #sendFailed.
    this.#log.debug(`Remote transport: ${describeCause(error)}`);
  }

  /** Gives up `transport`: its requests in flight get errors and a new session is opened. */
  #lose(transport: RemoteTransport, reason: string): void {
    if (transport !== this.#transport) return;
    this.#transport = undefined;
    this.#discard(transport);
    for (const own of this.#own.values()) own.reject(new Error(reason));
    const lost = [...this.#inFlight.values()];
    this.#inFlight.clear();
    this.#session.dropPending();
    this.#initializing.clear();
    for (const request of lost) {
      this.#deliver(errorResponse(
        request.id!,
        CONNECTION_CLOSED,
        `mcp-proxy: the connection to the remote server was lost (${reason}); ` +
          "the request may or may not have been carried out.",
      ));
    }
    if (this.#state !== "open") return;
    const failed = lost.length > 0 ? `; ${lost.length} request(s) in flight failed` : "";
    this.#log.warning(`Lost the remote session (${reason})${failed}; reconnecting.`);
    // A connection that keeps breaking right away must not be retried in a tight loop.
    this.#failures = Date.now() - this.#connectedAt >= this.#timings.stableMs
      ? 0
      : this.#failures + 1;
    this.#state = "connecting";
    this.#connectLoop();
  }

  /** Stops `transport` without hearing from it again. */
  #discard(transport: RemoteTransport): void {
    transport.onmessage = undefined;
    transport.onerror = undefined;
    transport.onclose = undefined;
    transport.close().catch(() => {});
  }

  /** Requests that waited too long for a connection get an error; notifications are dropped. */
  #expireQueue(): void {
    const cutoff = Date.now() - this.#timings.queueTimeoutMs;
    const expired = this.#queue.filter((entry) => entry.since <= cutoff);
    if (expired.length === 0) return;
    this.#queue = this.#queue.filter((entry) => entry.since > cutoff);
    const seconds = Math.round(this.#timings.queueTimeoutMs / 1000);
    this.#log.warning(`${expired.length} message(s) waited ${seconds} s for the remote server.`);
    for (const { message } of expired) {
      if (!isRequest(message)) continue;
      this.#deliver(errorResponse(
        message.id,
        REQUEST_TIMEOUT,
        `mcp-proxy: the remote server has been unreachable for ${seconds} s`,
      ));
    }
  }
}
