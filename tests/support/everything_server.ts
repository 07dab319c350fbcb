/**
 * `@modelcontextprotocol/server-everything` over HTTP (`sse` or `streamableHttp`), run with
 * node on a chosen port, stoppable and restartable on that same port.
 * @module
 */
import { EVERYTHING_SERVER } from "./paths.ts";
import { freePort } from "./ports.ts";
import { RunningProcess } from "./process.ts";

/** The everything server's HTTP modes. */
export type EverythingMode = "sse" | "streamableHttp";

/** A running everything server. */
export class EverythingServer {
  readonly mode: EverythingMode;
  readonly port: number;
  #process?: RunningProcess;

  private constructor(mode: EverythingMode, port: number) {
    this.mode = mode;
    this.port = port;
  }

  /** Starts it on a free port and waits until it listens. */
  static async start(mode: EverythingMode): Promise<EverythingServer> {
    const server = new EverythingServer(mode, freePort());
    await server.restart();
    return server;
  }

  /** The URL a client connects to. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/${this.mode === "sse" ? "sse" : "mcp"}`;
  }

  /** Starts it (again) on its port and waits until it listens. */
  async restart(): Promise<void> {
    this.#process = new RunningProcess("node", [EVERYTHING_SERVER, this.mode], {
      env: { PORT: String(this.port), PATH: Deno.env.get("PATH") ?? "" },
      clearEnv: true,
    });
    await this.#process.waitForStderr(/running on port|listening on port/);
  }

  /** Kills it at once (SIGKILL), as a crash would. */
  async kill(): Promise<void> {
    await this.#process?.stop("SIGKILL");
  }
}
