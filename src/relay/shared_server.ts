/**
 * A stdio MCP server shared by many client sessions: the child's life cycle (start,
 * initialise, restart with backoff, stop) around a {@linkcode Multiplexer}.
 * @module
 */
import {
  DEFAULT_SERVING_LIMITS,
  type ServingLimits,
  type StdioServerConfig,
} from "../cli/server_config.ts";
import { getLogger, type Logger } from "../log.ts";
import type { ChildExit } from "../runtime/mod.ts";
import { runtime } from "../runtime/mod.ts";
import { Backoff, type BackoffOptions, deadline, formatDuration, sleep } from "../shared/async.ts";
import { ModernChild } from "../era/modern_child.ts";
import { type ChildEra, discoverParams, eraOfDiscoverAnswer } from "../era/probe.ts";
import { initializeFromDiscover } from "../era/results.ts";
import { classify, type Incoming, LATEST_LEGACY_PROTOCOL_VERSION } from "../shared/jsonrpc.ts";
import { PROXY_CLIENT_INFO, RELAYED_CLIENT_CAPABILITIES } from "./handshake.ts";
import { Multiplexer } from "./multiplexer.ts";
import { StdioChild, STOP_GRACE_MS } from "./stdio_child.ts";
import type { ClientSink, MuxSession, ServerState, SharedServer } from "./types.ts";

/** Default restart delays: 200 ms doubling up to 30 s; reset after 10 s of uptime. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 30_000, stableMs: 10_000 };

/** Tuning of {@linkcode createSharedServer}, mostly for tests. */
export interface SharedServerOptions {
  /** Restart delays; see {@linkcode DEFAULT_BACKOFF}. */
  backoff?: BackoffOptions;
  /** Waits of the stop sequence (default 2 s each). */
  stopGraceMs?: number;
  /** Receives each line the child writes to stderr (default: our stderr, prefixed `[name] `). */
  onStderrLine?: (line: string) => void;
}

/** How long a child may take to answer `initialize`. */
const INITIALIZE_TIMEOUT_MS = 60_000;

/**
 * How long a child may take to answer the `server/discover` probe before it counts as a
 * legacy server (some stay silent on a request they do not know).
 */
const PROBE_TIMEOUT_MS = 5_000;

/** A legacy child exited on the era probe: start it again and initialise it at once. */
class ExitedOnProbe extends Error {
  override name = "ExitedOnProbe";
}

/**
 * Creates the {@linkcode SharedServer} for the stdio server of `config`.
 *
 * `start()` spawns and initialises the child and resolves once it runs. If that first attempt
 * fails (missing command, crash, no `initialize` answer), `start()` rejects with an error
 * naming the command, the state becomes `"failed"` and the server keeps retrying in the
 * background with capped exponential backoff until `stop()`; a caller that wants to give up
 * (no server at all could start) calls `stop()`. A child that dies after it ran is restarted
 * the same way (state `"restarting"`, then `"running"`): requests in flight get a JSON-RPC
 * error at once, client sessions survive, and requests sent meanwhile wait for the restart
 * (or get an error if it fails).
 */
export function createSharedServer(
  config: StdioServerConfig,
  options: SharedServerOptions = {},
): SharedServer {
  return new StdioSharedServer(config, options);
}

class StdioSharedServer implements SharedServer {
  readonly name: string;
  readonly limits: ServingLimits;
  #state: ServerState = "starting";
  readonly #config: StdioServerConfig;
  readonly #options: SharedServerOptions;
  readonly #log: Logger;
  readonly #mux: Multiplexer;
  readonly #started = Promise.withResolvers<void>();
  #supervisor: Promise<void> | undefined;
  #child: StdioChild | undefined;
  /** What the child speaks, once probed; kept across restarts. */
  #era: ChildEra | undefined;
  /** The translation in front of a modern child (none for a legacy one). */
  #modern: ModernChild | undefined;
  #stopped = false;
  /** Aborted by stop(): ends a restart delay early. */
  readonly #stopping = new AbortController();

  constructor(config: StdioServerConfig, options: SharedServerOptions) {
    this.name = config.name;
    this.limits = config.limits ?? DEFAULT_SERVING_LIMITS;
    this.#config = config;
    this.#options = options;
    this.#log = getLogger("mcp_proxy.relay");
    this.#mux = new Multiplexer(config.name, this.#log, this.limits);
  }

  get state(): ServerState {
    return this.#state;
  }

  get era(): ChildEra | undefined {
    return this.#era;
  }

  start(): Promise<void> {
    this.#supervisor ??= this.#supervise();
    return this.#started.promise;
  }

  openSession(sink: ClientSink): MuxSession {
    return this.#mux.openSession(sink);
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#state = "stopped";
      this.#mux.refuse(`MCP server '${this.name}' was stopped`);
      this.#stopping.abort();
      if (this.#supervisor) {
        this.#started.reject(new Error(`MCP server '${this.name}' was stopped before it started`));
      }
      await this.#child?.stop(this.#options.stopGraceMs ?? STOP_GRACE_MS);
    }
    await this.#supervisor;
  }

  /** Runs the child, and runs it again whenever it ends, until stopped. */
  async #supervise(): Promise<void> {
    const backoff = new Backoff(this.#options.backoff ?? DEFAULT_BACKOFF);
    while (!this.#stopped) {
      const { uptimeMs, error } = await this.#runOnce();
      if (this.#stopped) break;
      if (error instanceof ExitedOnProbe) continue;
      const delay = backoff.next(uptimeMs);
      if (error) {
        this.#state = "failed";
        this.#mux.refuse(`MCP server '${this.name}' is not running: ${error.message}`);
        this.#started.reject(error);
        this.#log.error(`${error.message}; retrying in ${formatDuration(delay)}`);
      } else {
        this.#state = "restarting";
        this.#log.warning(
          `MCP server '${this.name}' ended; restarting in ${formatDuration(delay)}`,
        );
      }
      await sleep(delay, this.#stopping.signal);
    }
  }

  /** Starts one child and waits for its end; reports how long it ran, or why it never did. */
  async #runOnce(): Promise<{ uptimeMs: number; error?: Error }> {
    let child: StdioChild;
    try {
      child = new StdioChild(this.#config, {
        onMessage: (message) => this.#fromChild(message),
        onStderrLine: this.#options.onStderrLine ??
          ((line) => runtime.writeStderr(`[${this.name}] ${line}\n`)),
      }, this.#log);
    } catch (error) {
      return { uptimeMs: 0, error: error as Error };
    }
    this.#child = child;
    this.#mux.attach(child);
    let readyAt: number | undefined;
    let failure: Error | undefined;
    try {
      await this.#initialize(child);
      readyAt = Date.now();
      this.#state = "running";
      this.#started.resolve();
    } catch (error) {
      failure = error as Error;
      child.stop(this.#options.stopGraceMs ?? STOP_GRACE_MS);
    }
    const exit = await child.closed;
    this.#child = undefined;
    this.#modern?.reset();
    this.#modern = undefined;
    // Before detaching, so that clients told of the failure see the state it caused.
    if (readyAt !== undefined && !this.#stopped) this.#state = "restarting";
    const ended = this.#stopped
      ? `MCP server '${this.name}' was stopped`
      : `MCP server '${this.name}' exited (${describeExit(exit)})`;
    this.#mux.detach(ended);
    if (readyAt === undefined) return { uptimeMs: 0, error: failure ?? new Error(ended) };
    return { uptimeMs: Date.now() - readyAt };
  }

  /** A message of the child: through the translation when the child is modern. */
  #fromChild(incoming: Incoming): void {
    if (this.#modern) this.#modern.fromChild(incoming.message);
    else this.#mux.fromUpstream(incoming);
  }

  /**
   * The handshake: the era probe (unless the child is known to be legacy), then either the
   * modern translation or the legacy `initialize`.
   */
  async #initialize(child: StdioChild): Promise<void> {
    if (this.#era !== "legacy") {
      const discover = await this.#probe(child);
      if (discover) return this.#openModern(child, discover);
    }
    await this.#initializeLegacy(child);
  }

  /**
   * Sends `server/discover`: resolves with the result of a modern child, or `undefined` for a
   * legacy one (any other answer, or silence); throws {@linkcode ExitedOnProbe} if it exited.
   */
  async #probe(child: StdioChild): Promise<Record<string, unknown> | undefined> {
    const answer = this.#mux.request("server/discover", discoverParams(PROXY_CLIENT_INFO)).then(
      (result) => eraOfDiscoverAnswer({ result }),
      () => ({ era: "legacy" as const }),
    );
    const outcome = await Promise.race([
      answer,
      child.closed.then(() => "exited" as const),
      sleep(PROBE_TIMEOUT_MS).then(() => "silent" as const),
    ]);
    this.#era = outcome === "exited" || outcome === "silent" ? "legacy" : outcome.era;
    if (outcome === "exited") {
      this.#log.info(`MCP server '${this.name}' exited on the era probe: a legacy server`);
      throw new ExitedOnProbe(`MCP server '${this.name}' exited on server/discover`);
    }
    return typeof outcome === "object" && outcome.era === "modern" ? outcome.discover : undefined;
  }

  /** Puts the modern translation between the multiplexer and the child, and opens it. */
  #openModern(child: StdioChild, discover: Record<string, unknown>): void {
    const modern = new ModernChild(discover, PROXY_CLIENT_INFO, {
      toChild: (message) => child.send(message),
      toMux: (message, relatedTo) => {
        const incoming = classify(message);
        if (incoming.kind !== "invalid") this.#mux.fromUpstream(incoming, relatedTo);
      },
    });
    this.#modern = modern;
    this.#mux.attach({ send: (message, session) => modern.send(message, session) });
    const result = initializeFromDiscover(discover, LATEST_LEGACY_PROTOCOL_VERSION, {
      name: this.name,
      version: "unknown",
    });
    this.#mux.open(result);
    modern.start();
    const info = result.serverInfo as { name?: string; version?: string } | undefined;
    this.#log.info(
      `MCP server '${this.name}' running (2026-07-28): ${info?.name ?? "?"} ${info?.version ?? ""}`
        .trimEnd(),
    );
  }

  /** The legacy MCP handshake; rejects if the child dies, errs or stays silent first. */
  async #initializeLegacy(child: StdioChild): Promise<void> {
    const timeoutMs = INITIALIZE_TIMEOUT_MS;
    const what = `MCP server '${this.name}' (command '${this.#config.command}')`;
    const initialize = this.#mux.request("initialize", {
      protocolVersion: LATEST_LEGACY_PROTOCOL_VERSION,
      capabilities: RELAYED_CLIENT_CAPABILITIES,
      clientInfo: PROXY_CLIENT_INFO,
    });
    const exited = child.closed.then((exit) => {
      throw new Error(`${what} exited (${describeExit(exit)}) before it was initialised`);
    });
    // Whichever loses the race settles later; nobody needs to hear about it.
    initialize.catch(() => {});
    exited.catch(() => {});
    const result = await deadline(
      Promise.race([initialize, exited]),
      timeoutMs,
      `${what} did not answer initialize within ${formatDuration(timeoutMs)}`,
    ).catch((error: Error) => {
      throw error.message.startsWith(what) ? error : new Error(`${what}: ${error.message}`);
    });
    this.#mux.notify("notifications/initialized");
    this.#mux.open(result);
    const info = result.serverInfo as { name?: string; version?: string } | undefined;
    this.#log.info(
      `MCP server '${this.name}' running: ${info?.name ?? "?"} ${info?.version ?? ""}`.trimEnd(),
    );
  }
}

function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}
