/**
 * The stdio side of client mode, era-aware: what the remote speaks is probed once (unless
 * `--transport` forces SSE, see {@linkcode DetectionLoop}), what the stdio client speaks is read
 * from its first request, and the pair picks the relay ({@linkcode chooseRelay}). The front also
 * keeps count of the requests it owes the client, to answer them all before it stops.
 * @module
 */
import { hasEnvelopeClaim } from "../protocol/envelope.ts";
import { isLogged, withUrlForLog } from "../io/log.ts";
import { formatDuration, sleep } from "../io/async.ts";
import {
  errorResponse,
  type Incoming,
  ProtocolErrorCode,
  type RequestId,
  requestKey,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import { DetectionLoop, type DetectionOutcome } from "./detection_loop.ts";
import { chooseRelay, type ReadyRemote, type RelayOptions } from "./relays/choose.ts";
import type { ClientRelay } from "./relays/relay.ts";

/** Longest wait at the end of stdin for the answers still owed. */
const DRAIN_MS = 10_000;

/** What the front needs. */
export interface FrontOptions extends RelayOptions {
  /** Forced by `--transport`, or `auto`. */
  readonly transport: "sse" | "streamablehttp" | "auto";
}

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
  | { readonly kind: "detecting"; readonly detection: DetectionLoop }
  | { readonly kind: "refusing"; readonly reason: string }
  | { readonly kind: "ready"; readonly remote: ReadyRemote; chosen: ChosenRelay | undefined }
  | { readonly kind: "closed"; readonly reached: boolean };

/** Relays between the stdio client and the remote, whatever era each speaks. */
export class ClientFront {
  readonly #options: FrontOptions;
  #state: FrontState;
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
    const detection = new DetectionLoop(
      {
        ...this.#options,
        refuse: (incoming, code, reason) => this.#refuse(incoming, code, reason),
      },
      (outcome, waited) => this.#detected(outcome, waited),
    );
    this.#state = { kind: "detecting", detection };
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
        return state.detection.hold(incoming);
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
    if (state.kind === "detecting") state.detection.stop();
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

  /** Leaves detection: what waited is handed on (or refused). */
  #detected(outcome: DetectionOutcome, waited: Incoming[]): void {
    this.#state = outcome.kind === "ready"
      ? { kind: "ready", remote: outcome.remote, chosen: undefined }
      : outcome;
    for (const incoming of waited) this.#route(incoming);
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
    return { relay: chooseRelay(remote, modernClient, this.#options), modernClient };
  }

  #refuse(incoming: Incoming, code: number, reason: string): void {
    if (incoming.kind !== "request") return;
    this.#options.deliver(errorResponse(incoming.message.id, code, this.#errorText(reason)));
  }

  /** An error message of the proxy's own: the URL in it as logs show it (its query may hold a key). */
  #errorText(reason: string): string {
    return `mcp-proxy: ${withUrlForLog(reason, this.#options.url)}`;
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
