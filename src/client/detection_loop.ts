/**
 * The front's first phase: finding out what the remote speaks, again with backoff while it
 * cannot be reached or does not answer in time, while the stdio client's messages wait; a
 * request that waits too long gets an error naming why.
 * @module
 */
import { urlForLog } from "../io/log.ts";
import { Backoff, type BackoffOptions, formatDuration, sleep } from "../io/async.ts";
import { type Incoming, ProtocolErrorCode } from "../protocol/jsonrpc.ts";
import { HEADER_EXAMPLES } from "./auth/oauth_fetch.ts";
import {
  DetectionError,
  DetectionRefused,
  DetectionTimeout,
  detectRemote,
  type RemoteKind,
} from "./remote/detect.ts";
import {
  describeCause,
  isCertificateFailure,
  ReachabilityReport,
  remoteTransportFactory,
} from "./remote/legacy_session.ts";
import type { RemoteOptions } from "./remote/options.ts";
import { WaitingQueue } from "./remote/waiting_queue.ts";
import type { ReadyRemote } from "./relays/choose.ts";
import { plainHttpInsteadOfTls } from "./tls.ts";

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

/** What the detection loop needs. */
export interface DetectionLoopOptions extends RemoteOptions {
  /** Forced by `--transport`, or `auto`. */
  readonly transport: "sse" | "streamablehttp" | "auto";
  /** The proxy's identity in the probes. */
  readonly clientInfo: Record<string, unknown>;
  /** Answers `incoming`, if it is a request, with an error (`code`, saying `reason`). */
  readonly refuse: (incoming: Incoming, code: number, reason: string) => void;
}

/**
 * How detection ended: the remote is known, or refused for the rest of the run (it answers as
 * no MCP server does, or cannot work).
 */
export type DetectionOutcome =
  | { readonly kind: "ready"; readonly remote: ReadyRemote }
  | { readonly kind: "refusing"; readonly reason: string };

/** Probes the remote until its kind is known or it is refused, holding the client's messages. */
export class DetectionLoop {
  readonly #options: DetectionLoopOptions;
  /** Told the outcome, with the messages that waited for it (oldest first). */
  readonly #onOutcome: (outcome: DetectionOutcome, waited: Incoming[]) => void;
  readonly #queue = new WaitingQueue();
  /** Aborted once the loop is over: by its outcome, or by {@linkcode stop}. */
  readonly #stop = new AbortController();
  /** Aborted to cut a detection's backoff delay short: a request is waiting. */
  #wake = new AbortController();
  /** Why the remote could not be reached, told once per change. */
  readonly #reachability: ReachabilityReport;
  /** When the oldest request waiting for a never-reached remote is to get its error. */
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;

  /** A loop that starts probing at once. */
  constructor(
    options: DetectionLoopOptions,
    onOutcome: (outcome: DetectionOutcome, waited: Incoming[]) => void,
  ) {
    this.#options = options;
    this.#onOutcome = onOutcome;
    this.#reachability = new ReachabilityReport(options.log);
    this.#run();
  }

  /** Holds a message from the client until the outcome. */
  hold(incoming: Incoming): void {
    this.#queue.push(incoming);
    if (incoming.kind !== "request") return;
    // Someone is waiting: try now rather than at the end of the backoff delay.
    this.#wake.abort();
    this.#scheduleExpiry();
  }

  /** Ends the loop without an outcome (the front is closing). */
  stop(): void {
    this.#stop.abort();
    clearTimeout(this.#expiryTimer);
  }

  /** Whether the loop is over (a check after an await). */
  get #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  /**
   * Probes the remote, again with backoff while it cannot be reached or does not answer in
   * time; a remote that answers as no MCP server does, or that cannot work (its certificate is
   * refused, its port speaks plain HTTP), is refused for the rest of the run.
   */
  async #run(): Promise<void> {
    const { url, headers, fetch, clientInfo, log } = this.#options;
    const backoff = new Backoff(DETECTION_BACKOFF);
    const transport = this.#options.transport === "auto" ? undefined : this.#options.transport;
    for (let attempt = 1; !this.#stopped; attempt++) {
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
        if (this.#stopped) return;
        log.info(`The remote server speaks ${describeRemote(found)}.`);
        return this.#finish({ kind: "ready", remote });
      } catch (error) {
        if (this.#stopped) return;
        const refusal = await this.#refusalOf(error, transport);
        if (this.#stopped) return;
        if (refusal !== undefined) {
          log.error(`Cannot use the remote server: ${refusal}.`);
          return this.#finish({ kind: "refusing", reason: refusal });
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
          this.#expire(0, ProtocolErrorCode.RequestTimeout, reason);
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

  /** The loop is over: what waited is handed on with the outcome. */
  #finish(outcome: DetectionOutcome): void {
    this.stop();
    this.#onOutcome(outcome, this.#queue.takeAll());
  }

  /**
   * Requests that waited at least `waitedMs` for the remote get an error (`code`, saying
   * `reason`); notifications are dropped.
   */
  #expire(waitedMs: number, code: number, reason: string): void {
    for (const incoming of this.#queue.expire(waitedMs)) {
      this.#options.refuse(incoming, code, reason);
    }
  }

  /**
   * While the remote cannot be reached, requests that waited {@linkcode UNREACHED_ANSWER_MS}
   * get an error naming why; the next one to wait that long is scheduled.
   */
  #expireUnreached(): void {
    const cause = this.#reachability.cause;
    if (cause === undefined) return;
    this.#expire(
      UNREACHED_ANSWER_MS,
      ProtocolErrorCode.ConnectionClosed,
      `cannot reach the remote server ${urlForLog(this.#options.url)}: ${cause}`,
    );
    this.#scheduleExpiry();
  }

  /** Arms the timer of {@linkcode #expireUnreached} for the oldest request still waiting. */
  #scheduleExpiry(): void {
    clearTimeout(this.#expiryTimer);
    const oldest = this.#queue.oldest;
    if (oldest === undefined || this.#reachability.cause === undefined) return;
    const due = oldest.since + UNREACHED_ANSWER_MS - Date.now();
    this.#expiryTimer = setTimeout(() => this.#expireUnreached(), Math.max(0, due));
  }
}

/** What the remote speaks, as the log tells it. */
function describeRemote(remote: RemoteKind): string {
  if (remote.era === "modern") return "2026-07-28 over Streamable HTTP";
  return remote.transport === "sse"
    ? "a legacy revision over HTTP+SSE"
    : "a legacy revision over Streamable HTTP";
}
