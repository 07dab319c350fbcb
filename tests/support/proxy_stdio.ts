/**
 * mcp-proxy in client mode as a real child process, seen from its stdio client: an SDK
 * `Transport` (so an SDK `Client` can drive it) that also keeps every raw stdout line.
 * @module
 */
import type { JSONRPCMessage, Transport } from "../../src/deps.ts";
import { Client } from "./mcp_client.ts";
import { proxyCommand } from "./paths.ts";

/** mcp-proxy's stdio, as a transport. `start()` spawns it; `close()` ends stdin and waits. */
export class ProxyStdio implements Transport {
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  /** Every line mcp-proxy wrote to stdout. */
  readonly stdoutLines: string[] = [];
  #args: string[];
  #env: Record<string, string>;
  #child?: Deno.ChildProcess;
  #stdin?: WritableStreamDefaultWriter<Uint8Array>;
  #stderr = "";
  #pumps: Promise<void>[] = [];
  #lineWaiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.#args = args;
    this.#env = env;
  }

  /** Spawns mcp-proxy. */
  start(): Promise<void> {
    const { command, args } = proxyCommand();
    this.#child = new Deno.Command(command, {
      args: [...args, ...this.#args],
      env: { NO_COLOR: "1", ...this.#env },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#pumps = [
      this.#readLines(this.#child.stdout, (line) => this.#onStdout(line)),
      this.#readLines(this.#child.stderr, (line) => this.#stderr += line + "\n"),
    ];
    return Promise.resolve();
  }

  /** Writes `message` as one line. */
  async send(message: JSONRPCMessage): Promise<void> {
    await this.sendLine(JSON.stringify(message));
  }

  /** Writes a raw line to mcp-proxy's stdin. */
  async sendLine(line: string): Promise<void> {
    await this.#stdin!.write(new TextEncoder().encode(line + "\n"));
  }

  /** Resolves with the next stdout line (seen so far or later) that passes `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const seen = this.stdoutLines.find(test);
    if (seen) return Promise.resolve(seen);
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    const timer = setTimeout(() => reject(new Error("no such stdout line")), timeoutMs);
    this.#lineWaiters.push({ test, resolve });
    return promise.finally(() => clearTimeout(timer));
  }

  /** Everything mcp-proxy wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Sends `signal` to mcp-proxy. */
  kill(signal: Deno.Signal): void {
    this.#child!.kill(signal);
  }

  /** How mcp-proxy exited. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#child!.status;
  }

  /** Closes mcp-proxy's stdin and waits for it to exit (killing it after `timeoutMs`). */
  async close(timeoutMs = 10_000): Promise<void> {
    const child = this.#child!;
    await this.#stdin!.close().catch(() => {});
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await child.status;
    clearTimeout(timer);
    await Promise.all(this.#pumps);
    this.onclose?.();
  }

  #onStdout(line: string) {
    this.stdoutLines.push(line);
    this.#lineWaiters = this.#lineWaiters.filter((waiter) => {
      if (waiter.test(line)) waiter.resolve(line);
      return !waiter.test(line);
    });
    let message: JSONRPCMessage;
    try {
      message = JSON.parse(line);
    } catch (error) {
      this.onerror?.(error as Error);
      return;
    }
    this.onmessage?.(message);
  }

  async #readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
    let rest = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      lines.forEach(onLine);
    }
    if (rest) onLine(rest);
  }
}

/** Whether `line` is one JSON-RPC 2.0 message and nothing else. */
export function isJsonRpcLine(line: string): boolean {
  try {
    const value = JSON.parse(line);
    return typeof value === "object" && value !== null && value.jsonrpc === "2.0" &&
      ("method" in value || "result" in value || "error" in value);
  } catch {
    return false;
  }
}

/**
 * Runs `use` with an SDK client (named `name`) connected through `proxy`, then closes the client
 * and `remote`, the server behind the proxy, whatever happened.
 */
export async function withClientThrough(
  proxy: ProxyStdio,
  remote: { close(): Promise<void> },
  name: string,
  use: (client: Client) => Promise<void>,
): Promise<void> {
  const client = new Client({ name, version: "1.0.0" });
  try {
    await client.connect(proxy);
    await use(client);
  } finally {
    await client.close();
    await remote.close();
  }
}
