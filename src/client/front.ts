/**
 * The stdio side of client mode, era-aware: what the remote speaks is probed once (unless
 * `--transport` forces SSE), what the stdio client speaks is read from its first request, and
 * the pair picks the relay:
 *
 * | stdio client | remote | relay |
 * |---|---|---|
 * | legacy | legacy | {@linkcode ReconnectingRemote}: the messages as they are, one self-healing session |
 * | legacy | modern | {@linkcode LegacyClientOverModernRemote} |
 * | modern | modern | {@linkcode ModernRemote}: the messages as they are, headers mirrored |
 * | modern | legacy | {@linkcode ModernClientOverLegacyRemote} |
 * @module
 */
import type { ClientRelay } from "./relays/relay.ts";
import { hasEnvelopeClaim } from "../protocol/envelope.ts";
import { isLogged, urlForLog, withUrlForLog } from "../io/log.ts";
import { Backoff, type BackoffOptions, formatDuration, sleep } from "../io/async.ts";
import {
  errorResponse,
  type Incoming,
  ProtocolErrorCode,
  type RequestId,
  requestKey,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import { HEADER_EXAMPLES } from "./auth/oauth_fetch.ts";
import {
  DetectionError,
  DetectionRefused,
  DetectionTimeout,
  detectRemote,
  type RemoteKind,
} from "./remote/detect.ts";
import { LegacyClientOverModernRemote } from "./relays/legacy_over_modern.ts";
import { ModernRemote } from "./remote/modern_remote.ts";
import { ModernClientOverLegacyRemote } from "./relays/modern_over_legacy.ts";
import {
  describeCause,
  isCertificateFailure,
  ReachabilityReport,
  type RemoteTransport,
  remoteTransportFactory,
} from "./remote/legacy_session.ts";
import { plainHttpInsteadOfTls } from "./tls.ts";
import { ReconnectingRemote } from "./remote/reconnecting_remote.ts";
import type { RemoteOptions } from "./remote/options.ts";

/**
 * How long a request waits for a remote that has never been reached (connection refused, no
 * such host) before it gets an error naming why; detection goes on in the background.
 */
export const UNREACHED_ANSWER_MS = 5_000;

/** Delays between detections of a remote that cannot be reached: 200 ms doubling to 30 s. */
const DETECTION_BACKOFF: BackoffOptions = {
  initialMs: 200,
  maxMs: 30_000,
  // A failed detection never ran: nothing resets the delays.
  stableMs: Number.POSITIVE_INFINITY,
};

/** Longest wait at the end of stdin for the answers still owed. */
const DRAIN_MS = 10_000;

/** What the front needs. */
export interface FrontOptions extends RemoteOptions {
  /** Forced by `--transport`, or `auto`. */
  readonly transport: "sse" | "streamablehttp" | "auto";
  /** The proxy's identity towards the remote. */
  readonly clientInfo: Record<string, unknown>;
  /** Writes a message to the stdio client. */
  readonly deliver: (message: WireMessage) => void;
}

/**
 * A remote whose kind is known; a legacy one with the SDK transport that reaches it (loaded
 * only once it is known to be needed).
 */
type ReadyRemote =
  | Extract<RemoteKind, { era: "modern" }>
  | { readonly era: "legacy"; readonly newTransport: () => RemoteTransport };

/** A relay and the era of the stdio client it serves. */
interface ChosenRelay {
  readonly relay: ClientRelay;
  readonly modernClient: boolean;
}

/**
 * Where the front is: finding out what the remote speaks (the client's messages wait),
 * refusing (the URL answers as no MCP server does, or refuses every request), or relaying.
 */
type FrontState =
  | { readonly kind: "detecting"; readonly queue: { incoming: Incoming; since: number }[] }
  | { readonly kind: "refusing"; readonly reason: string }
  | { readonly kind: "ready"; readonly remote: ReadyRemote; chosen: ChosenRelay | undefined }
  | { readonly kind: "closed"; readonly reached: boolean };

/** Relays between the stdio client and the remote, whatever era each speaks. */
export class ClientFront {
  readonly #options: FrontOptions;
  #state: FrontState = { kind: "detecting", queue: [] };
  readonly #stop = new AbortController();
  /** Aborted to cut a detection's backoff delay short: a request is waiting. */
  #wake = new AbortController();
  /** Why the remote could not be reached while detecting, told once per change. */
  readonly #reachability: ReachabilityReport;
  /** When the oldest request waiting for a never-reached remote is to get its error. */
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The client's requests not answered yet, by key (ids 1 and "1" apart): owed before closing. */
  readonly #owed = new Map<string, RequestId>();
  #drained: (() => void) | undefined;
  /** Set once the owed requests got their shutdown error: nothing more goes to the client. */
  #abandoned = false;
  /** Whether each message's summary is logged (built only then). */
  readonly #tracing = isLogged("DEBUG");
  /** The key of the client's `server/discover` still unanswered, if one is. */
  #discoverKey: string | undefined;
  /**
   * Whether the client's `server/discover` got an error: a dual-era client then falls back to
   * a legacy `initialize`, to be served as from a legacy client.
   */
  #discoverFailed = false;
  /** The close of a relay left for another (a client that fell back to `initialize`). */
  #retired: Promise<void> = Promise.resolve();

  /** A front that starts probing the remote at once. */
  constructor(options: FrontOptions) {
    const deliver = options.deliver;
    this.#options = {
      ...options,
      deliver: (message) => {
        if (this.#abandoned) return;
        if (message.method === undefined && message.id != null) {
          this.#settle(message.id, message.error !== undefined);
        }
        if (this.#tracing) options.log.debug(`To stdout: ${summarize(message)}.`);
        deliver(message);
      },
    };
    this.#reachability = new ReachabilityReport(options.log);
    this.#detect();
  }

  /** Whether the remote was ever found to be an MCP server (client mode exits 1 otherwise). */
  get reached(): boolean {
    return this.#state.kind === "ready" ||
      (this.#state.kind === "closed" && this.#state.reached);
  }

  /** A message from the stdio client. */
  receive(incoming: Incoming): void {
    // Stopping: nothing new goes to the remote.
    if (this.#abandoned) return;
    if (this.#tracing) this.#options.log.debug(`From stdin: ${summarize(incoming.message)}.`);
    if (incoming.kind === "request") {
      const key = requestKey(incoming.message.id);
      this.#owed.set(key, incoming.message.id);
      if (incoming.message.method === "server/discover") this.#discoverKey = key;
    }
    this.#route(incoming);
  }

  /**
   * Answers every request still owed with an error saying `reason`, at once, and lets nothing
   * from the remote reach the client any more (a signal stops the proxy: the client must not
   * wait for answers that will not come).
   */
  abandon(reason: string): void {
    if (this.#abandoned) return;
    if (this.#owed.size > 0) {
      this.#options.log.info(
        `Answering the ${this.#owed.size} request(s) still owed with an error: ${reason}.`,
      );
    }
    for (const id of this.#owed.values()) {
      this.#options.deliver(
        errorResponse(id, ProtocolErrorCode.ConnectionClosed, this.#errorText(reason)),
      );
    }
    this.#abandoned = true;
    this.#drained?.();
  }

  #route(incoming: Incoming): void {
    const state = this.#state;
    switch (state.kind) {
      case "detecting":
        state.queue.push({ incoming, since: Date.now() });
        if (incoming.kind !== "request") return;
        // Someone is waiting: try now rather than at the end of the backoff delay.
        this.#wake.abort();
        return this.#scheduleExpiry();
      case "refusing":
        return this.#refuse(incoming, ProtocolErrorCode.InternalError, state.reason);
      case "ready":
        if (state.chosen !== undefined && this.#fallsBackToLegacy(state.chosen, incoming)) {
          this.#options.log.info(
            "The stdio client's server/discover failed and it falls back to initialize.",
          );
          this.#retired = Promise.all([this.#retired, state.chosen.relay.close()]).then(() => {});
          state.chosen = undefined;
        }
        state.chosen ??= this.#relayFor(state.remote, incoming);
        return state.chosen.relay.receive(incoming);
    }
  }

  /**
   * Ends the relay and the remote session, once the answers still owed have come (at most
   * {@linkcode DRAIN_MS}, less if {@linkcode abandon} is called meanwhile): a client that pipes
   * its requests in closes stdin before they are answered. Requests still owed then get an
   * error.
   */
  async close(): Promise<void> {
    const drainFor = formatDuration(DRAIN_MS);
    if (this.#owed.size > 0 && !this.#abandoned) {
      this.#options.log.info(
        `Waiting up to ${drainFor} for the ${this.#owed.size} answer(s) still owed.`,
      );
      const waited = new AbortController();
      const drained = new Promise<void>((resolve) => this.#drained = resolve);
      await Promise.race([drained, sleep(DRAIN_MS, waited.signal)]);
      waited.abort();
    }
    this.abandon(`no answer came within ${drainFor} of the end of stdin`);
    const state = this.#state;
    this.#state = { kind: "closed", reached: this.reached };
    this.#stop.abort();
    clearTimeout(this.#expiryTimer);
    if (state.kind === "ready") await state.chosen?.relay.close();
    await this.#retired;
  }

  /**
   * Whether `incoming` is the legacy `initialize` of a dual-era client whose `server/discover`
   * got an error (the 2026-07-28 backward-compatibility fallback): the relay chosen for a
   * modern client is to give way to one for a legacy client.
   */
  #fallsBackToLegacy(chosen: ChosenRelay, incoming: Incoming): boolean {
    return chosen.modernClient && this.#discoverFailed && incoming.kind === "request" &&
      incoming.message.method === "initialize" && !hasEnvelopeClaim(incoming.message.params);
  }

  /**
   * Probes the remote, again with backoff while it cannot be reached or does not answer in
   * time; a remote that answers as no MCP server does, or that cannot work (its certificate is
   * refused, its port speaks plain HTTP), is refused for the rest of the run.
   */
  async #detect(): Promise<void> {
    const { url, headers, fetch, clientInfo, log } = this.#options;
    const backoff = new Backoff(DETECTION_BACKOFF);
    const transport = this.#options.transport === "auto" ? undefined : this.#options.transport;
    for (let attempt = 1; this.#state.kind === "detecting"; attempt++) {
      log.debug(`Detecting what ${url} speaks (attempt ${attempt}).`);
      try {
        const found = await detectRemote({ url, headers, fetch, clientInfo, transport, log });
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
        return this.#become({ kind: "ready", remote, chosen: undefined });
      } catch (error) {
        if (this.#state.kind !== "detecting") return;
        const refusal = await this.#refusalOf(error, transport);
        if (this.#state.kind !== "detecting") return;
        if (refusal !== undefined) {
          log.error(`Cannot use the remote server: ${refusal}.`);
          return this.#become({ kind: "refusing", reason: refusal });
        }
        const delay = backoff.next();
        if (error instanceof DetectionTimeout) {
          // Every request waiting now waited for this detection: it is told what was tried.
          const reason = `${url} did not answer in time (${error.message})`;
          log.warning(
            `Cannot use the remote server yet: ${reason}; next attempt in ${
              formatDuration(delay)
            }.`,
          );
          this.#reachability.clear();
          this.#expireQueue(0, ProtocolErrorCode.RequestTimeout, reason);
        } else {
          this.#reachability.failed(
            describeCause(error),
            `next attempt in ${formatDuration(delay)}`,
            `then less often, up to every ${formatDuration(DETECTION_BACKOFF.maxMs)}; ` +
              `requests get an error after ${formatDuration(UNREACHED_ANSWER_MS)}`,
          );
          this.#expireUnreached();
        }
        this.#wake = new AbortController();
        await sleep(delay, AbortSignal.any([this.#stop.signal, this.#wake.signal]));
      }
    }
  }

  /** Why the remote is refused for good after `error`, if it is. */
  async #refusalOf(
    error: unknown,
    transport: "sse" | "streamablehttp" | undefined,
  ): Promise<string | undefined> {
    const { url } = this.#options;
    if (isCertificateFailure(error)) {
      return `the remote server's certificate was refused: ${describeCause(error)}`;
    }
    if (error instanceof DetectionRefused) {
      const statuses = [...new Set(error.statuses)].join(" or ");
      return `it refused every request (HTTP ${statuses}): it wants credentials this proxy was ` +
        `not given (or refused those given); pass them with -H (${HEADER_EXAMPLES})`;
    }
    if (error instanceof DetectionError) {
      return `${url} answers as no MCP server does (${error.message}); ` +
        (transport === undefined
          ? "check the URL (it names the server's MCP endpoint, such as /mcp or /sse)"
          : `check the URL, or drop --transport ${transport} to let mcp-proxy find the transport`);
    }
    return await plainHttpInsteadOfTls(url, error);
  }

  /** Leaves detection: what waited is handed on (or refused). */
  #become(next: FrontState): void {
    const state = this.#state;
    this.#state = next;
    clearTimeout(this.#expiryTimer);
    if (state.kind !== "detecting") return;
    for (const { incoming } of state.queue) this.#route(incoming);
  }

  /** An answer (an error if `failed`) went to the client: one request less is owed. */
  #settle(id: RequestId, failed: boolean): void {
    const key = requestKey(id);
    if (key === this.#discoverKey) {
      this.#discoverKey = undefined;
      this.#discoverFailed = failed;
    }
    this.#owed.delete(key);
    if (this.#owed.size === 0) this.#drained?.();
  }

  /** The relay for this remote and the client whose first message is `first`. */
  #relayFor(remote: ReadyRemote, first: Incoming): ChosenRelay {
    const modernClient = first.kind !== "response" && hasEnvelopeClaim(first.message.params);
    this.#options.log.info(
      `The stdio client speaks ${modernClient ? "2026-07-28" : "a legacy revision"}.`,
    );
    return { relay: this.#newRelay(remote, modernClient), modernClient };
  }

  /** The relay between this remote and a stdio client of the era `modernClient` says. */
  #newRelay(remote: ReadyRemote, modernClient: boolean): ClientRelay {
    const { url, headers, fetch, log, deliver, clientInfo } = this.#options;
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
    const legacy = new ReconnectingRemote({ newTransport, deliver, log });
    legacy.start();
    return { receive: (incoming) => legacy.send(incoming), close: () => legacy.close() };
  }

  #refuse(incoming: Incoming, code: number, reason: string): void {
    if (incoming.kind !== "request") return;
    this.#options.deliver(errorResponse(incoming.message.id, code, this.#errorText(reason)));
  }

  /** An error message of the proxy's own: the URL in it as logs show it (its query may hold a key). */
  #errorText(reason: string): string {
    return `mcp-proxy: ${withUrlForLog(reason, this.#options.url)}`;
  }

  /**
   * Requests that waited at least `waitedMs` for the remote get an error (`code`, saying
   * `reason`); notifications are dropped.
   */
  #expireQueue(waitedMs: number, code: number, reason: string): void {
    const state = this.#state;
    if (state.kind !== "detecting") return;
    const cutoff = Date.now() - waitedMs;
    const expired = state.queue.filter(({ since }) => since <= cutoff);
    if (expired.length === 0) return;
    state.queue.splice(0, state.queue.length, ...state.queue.filter(({ since }) => since > cutoff));
    for (const { incoming } of expired) this.#refuse(incoming, code, reason);
  }

  /**
   * While the remote cannot be reached, requests that waited {@linkcode UNREACHED_ANSWER_MS}
   * get an error naming why; the next one to wait that long is scheduled.
   */
  #expireUnreached(): void {
    const cause = this.#reachability.cause;
    if (cause === undefined) return;
    this.#expireQueue(
      UNREACHED_ANSWER_MS,
      ProtocolErrorCode.ConnectionClosed,
      `cannot reach the remote server ${urlForLog(this.#options.url)}: ${cause}`,
    );
    this.#scheduleExpiry();
  }

  /** Arms the timer of {@linkcode #expireUnreached} for the oldest request still waiting. */
  #scheduleExpiry(): void {
    clearTimeout(this.#expiryTimer);
    const state = this.#state;
    const oldest = state.kind === "detecting" ? state.queue[0] : undefined;
    if (oldest === undefined || this.#reachability.cause === undefined) return;
    const due = oldest.since + UNREACHED_ANSWER_MS - Date.now();
    this.#expiryTimer = setTimeout(() => this.#expireUnreached(), Math.max(0, due));
  }
}

/** A message in one line for DEBUG: kind, method, id and size, never its content. */
function summarize(message: WireMessage): string {
  const bytes = new TextEncoder().encode(JSON.stringify(message)).length;
  const id = message.id == null ? "" : `id ${JSON.stringify(message.id).slice(0, 40)}, `;
  const kind = message.method !== undefined
    ? `${message.id == null ? "notification" : "request"} ${message.method}`
    : message.error !== undefined
    ? `error ${(message.error as { code?: unknown }).code}`
    : "result";
  return `${kind} (${id}${bytes} bytes)`;
}

function describeRemote(remote: RemoteKind): string {
  if (remote.era === "modern") return "2026-07-28 over Streamable HTTP";
  return remote.transport === "sse"
    ? "a legacy revision over HTTP+SSE"
    : "a legacy revision over Streamable HTTP";
}
