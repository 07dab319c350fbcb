/**
 * The stdio side of client mode, era-aware: what the remote speaks is probed once (unless
 * `--transport` forces SSE), what the stdio client speaks is read from its first request, and
 * the pair picks the relay:
 *
 * | stdio client | remote | relay |
 * |---|---|---|
 * | legacy | legacy | {@linkcode Upstream}: the messages as they are, one self-healing session |
 * | legacy | modern | {@linkcode LegacyClientOverModernRemote} |
 * | modern | modern | {@linkcode ModernRemote}: the messages as they are, headers mirrored |
 * | modern | legacy | {@linkcode ModernClientOverLegacyRemote} |
 * @module
 */
import { hasEnvelopeClaim } from "../era/envelope.ts";
import type { Logger } from "../log.ts";
import { Backoff, sleep } from "../shared/async.ts";
import {
  errorResponse,
  type Incoming,
  ProtocolErrorCode,
  type RequestId,
  requestKey,
  type WireMessage,
} from "../shared/jsonrpc.ts";
import { DetectionError, DetectionTimeout, detectRemote, type RemoteKind } from "./detect.ts";
import { LegacyClientOverModernRemote } from "./legacy_over_modern.ts";
import { ModernRemote } from "./modern_remote.ts";
import { ModernClientOverLegacyRemote } from "./modern_over_legacy.ts";
import {
  describeCause,
  isCertificateFailure,
  type RemoteTransport,
  remoteTransportFactory,
} from "./remote.ts";
import { Upstream } from "./upstream.ts";

/** One relay between the stdio client and the remote. */
export interface ClientRelay {
  /** A message from the stdio client. */
  receive(incoming: Incoming): void;
  /** Ends the relay (and the remote session, where there is one). */
  close(): Promise<void>;
}

/** What the front needs. */
export interface FrontOptions {
  /** The remote MCP server's URL. */
  readonly url: string;
  /** Forced by `--transport`, or `auto`. */
  readonly transport: "sse" | "streamablehttp" | "auto";
  /** Sent with every request to the remote (the user's `--headers`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `fetch` for the remote: TLS options applied, OAuth token attached. */
  readonly fetch: typeof fetch;
  /** Where the relay reports detection, reconnections and dropped messages. */
  readonly log: Logger;
  /** The proxy's identity towards the remote. */
  readonly clientInfo: Record<string, unknown>;
  /** Writes a message to the stdio client. */
  readonly deliver: (message: WireMessage) => void;
  /** Longest wait of a request for the remote to be reached (default 30 s). */
  readonly queueTimeoutMs?: number;
  /** Longest wait at the end of stdin for the answers still owed (default 10 s). */
  readonly drainMs?: number;
}

/**
 * A remote whose kind is known; a legacy one with the SDK transport that reaches it (loaded
 * only once it is known to be needed).
 */
type ReadyRemote =
  | Extract<RemoteKind, { era: "modern" }>
  | { readonly era: "legacy"; readonly newTransport: () => RemoteTransport };

/**
 * Where the front is: finding out what the remote speaks (the client's messages wait),
 * refusing (the URL answers as no MCP server does), or relaying.
 */
type FrontState =
  | { readonly kind: "detecting"; readonly queue: { incoming: Incoming; since: number }[] }
  | { readonly kind: "refusing"; readonly reason: string }
  | { readonly kind: "ready"; readonly remote: ReadyRemote; relay: ClientRelay | undefined }
  | { readonly kind: "closed" };

/** Relays between the stdio client and the remote, whatever era each speaks. */
export class ClientFront {
  readonly #options: FrontOptions;
  #state: FrontState = { kind: "detecting", queue: [] };
  readonly #stop = new AbortController();
  /** The client's requests not answered yet (ids 1 and "1" apart): owed before closing. */
  readonly #owed = new Set<string>();
  #drained: (() => void) | undefined;

  /** A front that starts probing the remote at once. */
  constructor(options: FrontOptions) {
    const deliver = options.deliver;
    this.#options = {
      ...options,
      deliver: (message) => {
        if (message.method === undefined && message.id != null) this.#settle(message.id);
        deliver(message);
      },
    };
    this.#detect();
  }

  /** A message from the stdio client. */
  receive(incoming: Incoming): void {
    if (incoming.kind === "request") this.#owed.add(requestKey(incoming.message.id));
    this.#route(incoming);
  }

  #route(incoming: Incoming): void {
    const state = this.#state;
    switch (state.kind) {
      case "detecting":
        state.queue.push({ incoming, since: Date.now() });
        return;
      case "refusing":
        return this.#refuse(incoming, ProtocolErrorCode.InternalError, state.reason);
      case "ready":
        state.relay ??= this.#relayFor(state.remote, incoming);
        return state.relay.receive(incoming);
    }
  }

  /**
   * Ends the relay and the remote session, once the answers still owed have come (at most
   * `drainMs`): a client that pipes its requests in closes stdin before they are answered.
   */
  async close(): Promise<void> {
    if (this.#owed.size > 0) {
      const waited = new AbortController();
      const drained = new Promise<void>((resolve) => this.#drained = resolve);
      await Promise.race([drained, sleep(this.#options.drainMs ?? 10_000, waited.signal)]);
      waited.abort();
    }
    const state = this.#state;
    this.#state = { kind: "closed" };
    this.#stop.abort();
    if (state.kind === "ready") await state.relay?.close();
  }

  /** Probes the remote, again with backoff while it cannot be reached or does not answer in time. */
  async #detect(): Promise<void> {
    const { url, headers, fetch, clientInfo, log } = this.#options;
    const backoff = new Backoff({ initialMs: 200, maxMs: 5_000, stableMs: 0 });
    const transport = this.#options.transport === "auto" ? undefined : this.#options.transport;
    while (this.#state.kind === "detecting") {
      try {
        const found = await detectRemote({ url, headers, fetch, clientInfo, transport });
        const remote: ReadyRemote = found.era === "modern" ? found : {
          era: "legacy",
          newTransport: await remoteTransportFactory({
            url,
            headers,
            fetch,
            transport: found.transport,
          }),
        };
        if (this.#state.kind !== "detecting") return;
        log.info(`The remote server speaks ${describeRemote(found)}.`);
        return this.#become({ kind: "ready", remote, relay: undefined });
      } catch (error) {
        if (this.#state.kind !== "detecting") return;
        if (isCertificateFailure(error)) {
          const reason = `the remote server's certificate was refused: ${describeCause(error)}`;
          log.error(`Cannot use the remote server: ${reason}.`);
          return this.#become({ kind: "refusing", reason });
        }
        if (error instanceof DetectionError) {
          const reason = `${url} answers as no MCP server does (${error.message}); ` +
            (transport === undefined
              ? "check the URL (it names the server's MCP endpoint, such as /mcp or /sse)"
              : `check the URL, or drop --transport ${transport} to let mcp-proxy find the transport`);
          log.error(`Cannot use the remote server: ${reason}.`);
          return this.#become({ kind: "refusing", reason });
        }
        const delay = backoff.next(0);
        if (error instanceof DetectionTimeout) {
          // Every request waiting now waited for this detection: it is told what was tried.
          const reason = `${url} did not answer in time (${error.message})`;
          log.warning(`Cannot use the remote server yet: ${reason}; next attempt in ${delay} ms.`);
          this.#expireQueue(0, reason);
        } else {
          log.warning(
            `Cannot reach the remote server: ${describeCause(error)}; next attempt in ${delay} ms.`,
          );
          const timeoutMs = this.#options.queueTimeoutMs ?? 30_000;
          const seconds = Math.round(timeoutMs / 1000);
          this.#expireQueue(timeoutMs, `the remote server has been unreachable for ${seconds} s`);
        }
        await sleep(delay, this.#stop.signal);
      }
    }
  }

  /** Leaves detection: what waited is handed on (or refused). */
  #become(next: FrontState): void {
    const state = this.#state;
    this.#state = next;
    if (state.kind !== "detecting") return;
    for (const { incoming } of state.queue) this.#route(incoming);
  }

  /** An answer went to the client: one request less is owed. */
  #settle(id: RequestId): void {
    this.#owed.delete(requestKey(id));
    if (this.#owed.size === 0) this.#drained?.();
  }

  /** The relay for this remote and the client whose first message is `first`. */
  #relayFor(remote: ReadyRemote, first: Incoming): ClientRelay {
    const { url, headers, fetch, log, deliver, clientInfo } = this.#options;
    const modernClient = first.kind !== "response" && hasEnvelopeClaim(first.message.params);
    log.info(`The stdio client speaks ${modernClient ? "2026-07-28" : "a legacy revision"}.`);
    if (remote.era === "modern") {
      if (!modernClient) {
        return new LegacyClientOverModernRemote({
          discover: remote.discover,
          clientInfo,
          url,
          headers,
          fetch,
          log,
          deliver,
        });
      }
      const modern = new ModernRemote({ url, headers, fetch, log }, deliver);
      return {
        receive: (incoming) => void modern.send(incoming.message),
        close: () => Promise.resolve(modern.close()),
      };
    }
    const { newTransport } = remote;
    if (modernClient) {
      return new ModernClientOverLegacyRemote({ newTransport, clientInfo, log, deliver });
    }
    const upstream = new Upstream({ newTransport, deliver, log });
    upstream.start();
    return { receive: (incoming) => upstream.send(incoming), close: () => upstream.close() };
  }

  #refuse(incoming: Incoming, code: number, reason: string): void {
    if (incoming.kind !== "request") return;
    this.#options.deliver(errorResponse(incoming.message.id, code, `mcp-proxy: ${reason}`));
  }

  /**
   * Requests that waited at least `waitedMs` for the remote get an error saying `reason`;
   * notifications are dropped.
   */
  #expireQueue(waitedMs: number, reason: string): void {
    const state = this.#state;
    if (state.kind !== "detecting") return;
    const cutoff = Date.now() - waitedMs;
    const expired = state.queue.filter(({ since }) => since <= cutoff);
    if (expired.length === 0) return;
    state.queue.splice(0, state.queue.length, ...state.queue.filter(({ since }) => since > cutoff));
    for (const { incoming } of expired) {
      this.#refuse(incoming, ProtocolErrorCode.RequestTimeout, reason);
    }
  }
}

function describeRemote(remote: RemoteKind): string {
  if (remote.era === "modern") return "2026-07-28 over Streamable HTTP";
  return remote.transport === "sse"
    ? "a legacy revision over HTTP+SSE"
    : "a legacy revision over Streamable HTTP";
}
