/**
 * A stdio MCP server shared by many client sessions: the child's life cycle (start,
 * initialise, restart with backoff, stop) around a {@linkcode Multiplexer}.
 * @module
 */
import {
  DEFAULT_SERVING_LIMITS,
  type ServingLimits,
  type StdioServerConfig,
} from "../../config.ts";
import { getLogger, type Logger } from "../../io/log.ts";
import type { ChildExit } from "../../runtime/mod.ts";
import { runtime } from "../../runtime/mod.ts";
import { Backoff, type BackoffOptions, deadline, formatDuration, sleep } from "../../io/async.ts";
import { ModernAdapter } from "../../core/modern_adapter.ts";
import {
  CHILD_START_TIMEOUT_MS,
  type ChildEra,
  type ChildProbe,
  probeChild,
} from "../../protocol/probe.ts";
import { initializeFromDiscover } from "../../protocol/results.ts";
import { classify, type Incoming, LATEST_LEGACY_PROTOCOL_VERSION } from "../../protocol/jsonrpc.ts";
import { PROXY_CLIENT_INFO, RELAYED_CLIENT_CAPABILITIES } from "../../protocol/handshake.ts";
import { Multiplexer } from "../../core/multiplexer.ts";
import { observed } from "../../core/observe/observed.ts";
import type { ChildCounters, ExitCause } from "../../core/observe/proxy_metrics.ts";
import { StdioChild, STOP_GRACE_MS } from "./stdio_child.ts";
import type {
  ClientSink,
  MuxSession,
  ServerState,
  SessionOpening,
  SharedServer,
} from "../../core/types.ts";
import { ServerStateCell } from "../../core/server_state.ts";

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
  /**
   * When given, a failed first start is retried only once this resolves (server mode: once
   * some server runs, so that the proxy will serve), and its log line promises no retry: if
   * no server could start the owner stops this one instead, and no retry is announced that
   * never comes.
   */
  firstRetryAfter?: Promise<void>;
  /**
   * The configured server this one serves, as metrics name it (default: its own name): a
   * child per user is one of many of the same server.
   */
  serverLabel?: string;
}

/**
 * A legacy child read the era probe and exited, or ignored it: start it again at once and
 * send `initialize` first.
 */
class RestartForLegacy extends Error {
  override name = "RestartForLegacy";
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
  readonly #state = new ServerStateCell("starting");
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
  #modern: ModernAdapter | undefined;
  #stopped = false;
  /** Aborted by stop(): ends a restart delay early. */
  readonly #stopping = new AbortController();
  /** Counts its children's starts and ends, with `--metrics`. */
  readonly #counters: ChildCounters | undefined;

  constructor(config: StdioServerConfig, options: SharedServerOptions) {
    this.name = config.name;
    this.limits = config.limits ?? DEFAULT_SERVING_LIMITS;
    this.#config = config;
    this.#options = options;
    this.#log = getLogger("mcp_proxy.relay");
    const label = options.serverLabel ?? config.name;
    this.#mux = new Multiplexer(config.name, this.#log, {
      ...this.limits,
      calls: observed.calls?.forServer(config.name, label),
    });
    this.#counters = observed.metrics?.children(label);
  }

  get state(): ServerState {
    return this.#state.value;
  }

  onStateChange(listener: (state: ServerState) => void): () => void {
    return this.#state.onChange(listener);
  }

  get era(): ChildEra | undefined {
    return this.#era;
  }

  start(): Promise<void> {
    this.#supervisor ??= this.#supervise();
    return this.#started.promise;
  }

  openSession(sink: ClientSink, opening?: SessionOpening): MuxSession {
    return this.#mux.openSession(sink, opening);
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#state.set("stopped");
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
      if (error instanceof RestartForLegacy) continue;
      const delay = backoff.next(uptimeMs);
      if (error) {
        const firstStart = this.#state.value === "starting";
        this.#state.set("failed");
        this.#mux.refuse(`MCP server '${this.name}' is not running: ${error.message}`);
        const retryAfter = firstStart ? this.#options.firstRetryAfter : undefined;
        if (retryAfter) {
          this.#log.error(error.message);
          this.#started.reject(error);
          await untilAborted(retryAfter, this.#stopping.signal);
          if (this.#stopped) break;
          this.#log.info(`MCP server '${this.name}': retrying in ${formatDuration(delay)}`);
        } else {
          this.#log.error(`${error.message}; retrying in ${formatDuration(delay)}`);
          this.#started.reject(error);
        }
      } else {
        this.#state.set("restarting");
        this.#log.warning(
          `MCP server '${this.name}' ended; restarting in ${formatDuration(delay)}`,
        );
      }
      await sleep(delay, this.#stopping.signal);
      if (!this.#stopped) this.#counters?.restarts.inc();
    }
  }

  /** Starts one child and waits for its end; reports how long it ran, or why it never did. */
  async #runOnce(): Promise<{ uptimeMs: number; error?: Error }> {
    const passOn = this.#options.onStderrLine ??
      ((line: string) => runtime.writeStderr(`[${this.name}] ${line}\n`));
    const stderr: StderrSeen = { lines: 0, quotedProbe: false };
    let child: StdioChild;
    this.#counters?.starts.inc();
    try {
      child = new StdioChild(this.#config, {
        onMessage: (message) => this.#fromChild(message),
        onStderrLine: (line) => {
          stderr.lines++;
          if (line.includes("server/discover")) stderr.quotedProbe = true;
          passOn(line);
        },
      }, this.#log);
    } catch (error) {
      this.#counters?.exited("start_failed");
      return { uptimeMs: 0, error: error as Error };
    }
    this.#child = child;
    this.#mux.attach(child);
    let readyAt: number | undefined;
    let failure: Error | undefined;
    try {
      await this.#initialize(child, stderr);
      readyAt = Date.now();
      this.#state.set("running");
      this.#started.resolve();
    } catch (error) {
      failure = error as Error;
      child.stop(this.#options.stopGraceMs ?? STOP_GRACE_MS);
    }
    const exit = await child.closed;
    this.#counters?.exited(this.#exitCause(exit, readyAt !== undefined));
    this.#child = undefined;
    this.#modern?.reset();
    this.#modern = undefined;
    // Before detaching, so that clients told of the failure see the state it caused.
    if (readyAt !== undefined && !this.#stopped) this.#state.set("restarting");
    const ended = this.#stopped
      ? `MCP server '${this.name}' was stopped`
      : `MCP server '${this.name}' exited (${describeExit(exit)})`;
    this.#mux.detach(ended);
    if (readyAt === undefined) return { uptimeMs: 0, error: failure ?? new Error(ended) };
    return { uptimeMs: Date.now() - readyAt };
  }

  /** Why a child ended, for the metrics: `ran` whether it got through its handshake. */
  #exitCause(exit: ChildExit, ran: boolean): ExitCause {
    if (this.#stopped) return "stopped";
    if (!ran) return "start_failed";
    if (exit.signal) return "signal";
    return exit.code === 0 ? "exit" : "error";
  }

  /** A message of the child: through the translation when the child is modern. */
  #fromChild(incoming: Incoming): void {
    if (this.#modern) this.#modern.fromChild(incoming.message);
    else this.#mux.fromUpstream(incoming);
  }

  /**
   * The handshake, within {@linkcode CHILD_START_TIMEOUT_MS} of the child's start: the era
   * probe (unless the child is known to be legacy), then either the modern translation or the
   * legacy `initialize`, which never goes to a child whose probe is unanswered.
   */
  async #initialize(child: StdioChild, stderr: StderrSeen): Promise<void> {
    const startedAt = Date.now();
    if (this.#era !== "legacy") {
      const probe = await probeChild({
        request: (method, params) => this.#mux.request(method, params),
        closed: child.closed,
        quotedProbe: () => stderr.quotedProbe,
      }, PROXY_CLIENT_INFO);
      if (probe.verdict === "modern") {
        this.#era = "modern";
        return this.#openModern(child, probe.discover);
      }
      if (probe.verdict !== "legacy") throw this.#unanswered(probe, stderr);
      this.#era = "legacy";
    }
    await this.#initializeLegacy(child, stderr, CHILD_START_TIMEOUT_MS - (Date.now() - startedAt));
  }

  /** Why a probe that got no answer ends this start. */
  #unanswered(probe: Exclude<ChildProbe, { verdict: "modern" | "legacy" }>, stderr: StderrSeen) {
    switch (probe.verdict) {
      case "restart-legacy": {
        this.#era = "legacy";
        const why = probe.exit
          ? `exited (${describeExit(probe.exit)}) on server/discover`
          : "answers ping but not server/discover";
        if (!this.#stopped) {
          this.#log.info(
            `MCP server '${this.name}' ${why}: a legacy server; starting it again for the ` +
              "initialize handshake",
          );
        }
        return new RestartForLegacy(`MCP server '${this.name}' ${why}`);
      }
      case "exited":
        return new Error(this.#exitedEarly(probe.exit, stderr));
      case "silent":
        return new Error(
          `${this.#what} answered neither server/discover nor ping within ` +
            `${formatDuration(CHILD_START_TIMEOUT_MS)} of its start. If it is still ` +
            "downloading (a first uvx or npx run), run the command once by hand to fill its " +
            "cache; otherwise check that it is an MCP server speaking stdio",
        );
    }
  }

  /** The server and its command, as log lines name them. */
  get #what(): string {
    return `MCP server '${this.name}' (command '${this.#config.command}')`;
  }

  /** The line for a child that exited before its handshake was done: what happened, what to do. */
  #exitedEarly(exit: ChildExit, stderr: StderrSeen): string {
    return `${this.#what} exited (${describeExit(exit)}) before it was initialised; ` +
      (stderr.lines > 0 ? "its stderr is above" : "it wrote nothing to stderr") +
      ". Check the command and its arguments by running it by hand; a server that needs " +
      "variables of the proxy's environment gets them with -e NAME VALUE or --pass-environment";
  }

  /** Puts the modern translation between the multiplexer and the child, and opens it. */
  #openModern(child: StdioChild, discover: Record<string, unknown>): void {
    const modern = new ModernAdapter(discover, PROXY_CLIENT_INFO, {
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
  async #initializeLegacy(child: StdioChild, stderr: StderrSeen, timeoutMs: number): Promise<void> {
    const what = this.#what;
    const initialize = this.#mux.request("initialize", {
      protocolVersion: LATEST_LEGACY_PROTOCOL_VERSION,
      capabilities: RELAYED_CLIENT_CAPABILITIES,
      clientInfo: PROXY_CLIENT_INFO,
    });
    const exited = child.closed.then((exit) => {
      throw new Error(this.#exitedEarly(exit, stderr));
    });
    // Whichever loses the race settles later; nobody needs to hear about it.
    initialize.catch(() => {});
    exited.catch(() => {});
    const result = await deadline(
      Promise.race([initialize, exited]),
      timeoutMs,
      `${what} did not answer initialize within ${
        formatDuration(CHILD_START_TIMEOUT_MS)
      } of its start`,
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

/** What the proxy saw of a child's stderr. */
interface StderrSeen {
  /** How many lines it wrote. */
  lines: number;
  /** Whether one of them quoted `server/discover` (a crash report naming the era probe). */
  quotedProbe: boolean;
}

/** Resolves when `promise` does, or at once when `signal` aborts. */
function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => resolve(), { once: true });
    promise.then(resolve);
  });
}

function describeExit(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
}
