/**
 * One stdio MCP server process: newline-delimited JSON on stdin/stdout, stderr passed through,
 * and a shutdown that leaves nothing of its process tree behind.
 * @module
 */
import type { StdioServerConfig } from "../../config.ts";
import type { Logger } from "../../io/log.ts";
import type { ChildExit, ChildProcess } from "../../runtime/mod.ts";
import { runtime } from "../../runtime/mod.ts";
import { settlesWithin } from "../../io/async.ts";
import {
  classify,
  type Incoming,
  invalidResponse,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import { type LineReader, readLines } from "../../io/lines.ts";
import { MessageWriter } from "../../io/message_writer.ts";
import type { SessionContext } from "../../protocol/handshake.ts";

/**
 * Beyond how many other requests in hand, even a write that finds stdin idle waits for the end of
 * the event-loop turn. Below it, few requests arrive in one turn and the hop to its end costs
 * more than the writes it saves (at 8 in flight, with the hop from 1 in hand on: 1.1x the CPU
 * per call; from 8: 0.87x of that).
 */
const BATCH_FROM_IN_HAND = 8;

/** How long a stop waits after closing stdin, and again after SIGTERM. */
export const STOP_GRACE_MS = 2_000;

/** How long leftover members of the process group get between SIGTERM and SIGKILL. */
const SWEEP_GRACE_MS = 300;

/** What a {@linkcode StdioChild} reports to its owner. */
export interface StdioChildHandlers {
  /** Every JSON-RPC message the child writes (a batch arrives as its messages, one by one). */
  onMessage(incoming: Incoming): void;
  /** Every line the child writes to stderr. */
  onStderrLine(line: string): void;
}

/** The child could not be started at all (missing command, not executable, bad cwd). */
export class ChildStartError extends Error {
  /** `ChildStartError`. */
  override name = "ChildStartError";
}

/** A running stdio MCP server. */
export class StdioChild {
  /** Settles once the child has exited and its output was read to the end. */
  readonly closed: Promise<ChildExit>;
  readonly #process: ChildProcess;
  readonly #stdin: MessageWriter;
  readonly #handlers: StdioChildHandlers;
  readonly #config: StdioServerConfig;
  readonly #log: Logger;
  /**
   * Requests written and not yet answered or cancelled. While the child has many in hand, every
   * write waits for the end of the event-loop turn: one write and one wake-up of the child for
   * all requests of the turn (at 64 calls in flight, 1.3–1.4x the calls/s of writing the first
   * of them at once).
   */
  #inHand = 0;
  #stopping: Promise<ChildExit> | undefined;

  /** Spawns the server of `config`; throws {@linkcode ChildStartError} naming the command. */
  constructor(config: StdioServerConfig, handlers: StdioChildHandlers, log: Logger) {
    this.#config = config;
    this.#handlers = handlers;
    this.#log = log;
    try {
      this.#process = runtime.spawn({
        command: config.command,
        args: config.args,
        env: config.env,
        cwd: config.cwd,
      });
    } catch (error) {
      throw new ChildStartError(describeSpawnError(config, error), { cause: error });
    }
    this.#stdin = new MessageWriter(
      this.#process.stdin,
      (error) => this.#log.debug(`Could not write to MCP server '${config.name}': ${error}`),
      () => this.#inHand > BATCH_FROM_IN_HAND, // The new request is counted already.
    );
    const stdout = readLines(
      this.#process.stdout,
      (line) => this.#onLine(line),
      (error, line) => this.#log.warning(`${this.#dropped(line)}: ${describeError(error)}`),
    );
    const stderr = readLines(
      this.#process.stderr,
      handlers.onStderrLine,
      (error) => this.#log.debug(`Could not pass on a stderr line: ${describeError(error)}`),
    );
    // A child that closes stdout can no longer answer: end it rather than wait forever.
    stdout.done.then(() => this.#process.killTree("SIGTERM"));
    this.closed = this.#process.exited.then(async (exit) => {
      await this.#sweep([stdout, stderr]);
      return exit;
    });
  }

  /** The child's process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /**
   * Writes `message` as one line (`text`, when the multiplexer kept the client's own): at once
   * when stdin is idle and the child has few requests in hand, else at the end of the turn with
   * the others of that turn (see {@linkcode MessageWriter}). The session is not the child's
   * concern.
   */
  send(message: WireMessage, _session?: SessionContext, text?: string): void {
    if (message.method === "notifications/cancelled") this.#answered();
    else if (message.method !== undefined && message.id !== undefined) this.#inHand++;
    this.#stdin.write(message, text);
  }

  /** A request in hand was answered or cancelled (a cancelled one gets no answer). */
  #answered(): void {
    if (this.#inHand > 0) this.#inHand--;
  }

  /** Closes stdin, waits, SIGTERMs the process group, waits, SIGKILLs it; settles when closed. */
  stop(graceMs: number = STOP_GRACE_MS): Promise<ChildExit> {
    this.#stopping ??= (async () => {
      this.#stdin.close(); // What waits for the write under way goes out before the end of input.
      if (!await settlesWithin(this.#process.exited, graceMs)) {
        this.#log.debug(`MCP server '${this.#config.name}' ignored stdin EOF; sending SIGTERM`);
        this.#process.killTree("SIGTERM");
        if (!await settlesWithin(this.#process.exited, graceMs)) {
          this.#log.warning(`MCP server '${this.#config.name}' ignored SIGTERM; sending SIGKILL`);
          this.#process.killTree("SIGKILL");
        }
      }
      return await this.closed;
    })();
    return this.#stopping;
  }

  /**
   * Ends whatever is left of the exited child's process group (grandchildren) and reads its
   * pipes to the end. Leftovers get SIGTERM and as long as they hold our pipes (at most
   * {@linkcode SWEEP_GRACE_MS}) to exit, then SIGKILL: we cannot see group members that
   * closed their stdio, and an orphan must never survive.
   */
  async #sweep(readers: LineReader[]): Promise<void> {
    this.#stdin.close();
    this.#process.killTree("SIGTERM");
    const drained = Promise.all(readers.map((reader) => reader.done));
    await settlesWithin(drained, SWEEP_GRACE_MS);
    this.#process.killTree("SIGKILL");
    if (await settlesWithin(drained, SWEEP_GRACE_MS)) return;
    // Only a process that left the group can still hold them; stop listening to it.
    for (const reader of readers) reader.cancel();
    await drained;
  }

  #onLine(line: string): void {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.#skip(line);
      return;
    }
    if (Array.isArray(parsed)) {
      for (const message of parsed) this.#deliver(message, line);
    } else {
      this.#deliver(parsed, line, line);
    }
  }

  /** `text` is `line` when the line holds `value` alone (not a batch): its exact JSON. */
  #deliver(value: unknown, line: string, text?: string): void {
    if (typeof value !== "object" || value === null) return this.#skip(line);
    const incoming = classify(value, text);
    if (incoming.kind === "response") this.#answered();
    if (incoming.kind !== "invalid") return this.#handlers.onMessage(incoming);
    this.#log.warning(`${this.#dropped(line)}: ${incoming.error.message}`);
    // A request of the child's own gets its answer; anything else cannot be answered.
    if (incoming.isRequest) this.send(invalidResponse(incoming));
  }

  #skip(line: string): void {
    this.#log.warning(
      `MCP server '${this.#config.name}' wrote a non-JSON-RPC line to stdout, skipped: ${
        shorten(line)
      }`,
    );
  }

  #dropped(line: string): string {
    return `Dropped a message from MCP server '${this.#config.name}' (${shorten(line)})`;
  }
}

function shorten(line: string): string {
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeSpawnError(config: StdioServerConfig, error: unknown): string {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  const where = config.cwd ? ` in '${config.cwd}'` : "";
  if (name === "NotFound" || code === "ENOENT") {
    return `MCP server '${config.name}': command '${config.command}' not found${where}`;
  }
  return `MCP server '${config.name}': cannot run command '${config.command}'${where}: ${
    error instanceof Error ? error.message : String(error)
  }`;
}
