/**
 * Running mcp-proxy in server mode as a real process and finding where it serves each
 * server, from its start-up lines on stderr.
 * @module
 */
import { EVERYTHING_SERVER, ROOT } from "./paths.ts";
import { type RunningProcess, startProxy } from "./process.ts";

/** The arguments that make `node server-everything stdio` the default server. */
export const EVERYTHING_ARGS: readonly string[] = ["--", "node", EVERYTHING_SERVER, "stdio"];

/** The server-mode fixture script (tests/fixtures/server_mode_fixture.mjs), run with node. */
export const FIXTURE: string = `${ROOT}tests/fixtures/server_mode_fixture.mjs`;

/** A proxy in server mode and the URLs it printed. */
export interface ServedProxy {
  readonly process: RunningProcess;
  /** `http://host:port`. */
  readonly base: string;
  /** Every printed `/sse` URL, by server name (`default` for the root). */
  readonly sse: Record<string, string>;
  /** Every printed `/mcp` URL, by server name. */
  readonly mcp: Record<string, string>;
  /** Sends `signal` and waits for the exit (idempotent). */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  [Symbol.asyncDispose](): Promise<void>;
}

const URL_LINE = / {2}- ((http:\/\/[^/\s]+)(?:\/servers\/([^/\s]+))?\/(sse|mcp))\n/g;

/** Starts the proxy with `args` and waits until it has printed its URLs. */
export async function startServerProxy(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number; fdLimit?: number } = {},
): Promise<ServedProxy> {
  const process = startProxy([...args], { env: options.env, fdLimit: options.fdLimit });
  const stop = (signal: Deno.Signal = "SIGTERM") => process.stop(signal);
  try {
    await process.waitForStderr(/via Streamable HTTP:\n/, options.timeoutMs ?? 30_000);
    // The URL lines are written one by one: wait until there are as many /mcp as /sse ones.
    for (;;) {
      const sse: Record<string, string> = {};
      const mcp: Record<string, string> = {};
      let base = "";
      for (const [, url, origin, name = "default", kind] of process.stderr.matchAll(URL_LINE)) {
        base = origin;
        (kind === "sse" ? sse : mcp)[name] = url;
      }
      const count = Object.keys(sse).length;
      if (count > 0 && count === Object.keys(mcp).length) {
        return {
          process,
          base,
          sse,
          mcp,
          stop,
          async [Symbol.asyncDispose]() {
            await stop();
          },
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
}
