/**
 * What the benchmark measures: which system (our proxy, a peer, or the server spoken to
 * directly), over which transport, with how many clients; and how to start each of them.
 * @module
 */
import { SSEClientTransport, StdioClientTransport, StreamableHTTPClientTransport } from "./deps.ts";
import type { TransportFactory } from "./load.ts";
import type { PeerInstall } from "./peers.ts";
import {
  descendants,
  freePort,
  LineBuffer,
  type Started,
  startProcess,
  waitForPort,
} from "./process.ts";

/** The system under test. */
export type System = "direct" | "ours" | "supergateway" | "mcp-proxy";

/**
 * How the benchmark client reaches the echo server.
 * - `stdio`: spawns the server itself (direct baseline only).
 * - `http`: the server's own Streamable HTTP mode (direct baseline only).
 * - `mcp`, `sse`: a proxy in server mode (stdio child) serving Streamable HTTP or legacy SSE.
 * - `client`: a proxy in client mode, spawned on stdio, relaying to the server's Streamable HTTP mode.
 */
export type Shape = "stdio" | "http" | "mcp" | "sse" | "client";

/** One row of the benchmark. */
export interface Scenario {
  /** Stable id, e.g. `ours-mcp-c8` (used by `--only` and in the JSON output). */
  id: string;
  /** System under test. */
  system: System;
  /** Transport shape. */
  shape: Shape;
  /** Concurrent clients. */
  clients: number;
}

/** Display names of the systems. */
export const SYSTEM_NAMES: Record<System, string> = {
  direct: "server, direct",
  ours: "mcp-proxy (ours)",
  supergateway: "supergateway",
  "mcp-proxy": "mcp-proxy (npm)",
};

/** Display names of the shapes. */
export const SHAPE_NAMES: Record<Shape, string> = {
  stdio: "stdio",
  http: "Streamable HTTP",
  mcp: "server mode /mcp",
  sse: "server mode /sse",
  client: "client mode stdio→HTTP",
};

/** Every scenario, in report order. */
export const SCENARIOS: readonly Scenario[] = [
  scenario("direct", "stdio", 1),
  scenario("direct", "http", 1),
  scenario("direct", "http", 8),
  scenario("ours", "mcp", 1),
  scenario("ours", "mcp", 8),
  scenario("ours", "sse", 1),
  scenario("ours", "client", 1),
  scenario("supergateway", "mcp", 1),
  scenario("supergateway", "mcp", 8),
  scenario("supergateway", "sse", 1),
  scenario("supergateway", "client", 1),
  scenario("mcp-proxy", "mcp", 1),
  scenario("mcp-proxy", "mcp", 8),
  scenario("mcp-proxy", "sse", 1),
];

function scenario(system: System, shape: Shape, clients: number): Scenario {
  return { id: `${system}-${shape}-c${clients}`, system, shape, clients };
}

/** What starting a system needs. */
export interface BenchContext {
  /** The everything server's entry script (run with `node`). */
  everything: string;
  /** Our proxy's command line, without mode arguments. */
  proxy: { command: string; args: string[] };
  /** The npm peers, when installed. */
  peers?: PeerInstall;
  /** Start our proxy with the V8 inspector on a free port (for `--profile`). */
  inspect?: boolean;
}

/** A started system that clients can connect to. */
export interface Endpoint {
  /** A transport for one more client. */
  newTransport: TransportFactory;
  /**
   * The process whose memory and CPU the report shows: the proxy (in client mode, the one
   * spawned by the latest transport); `undefined` for a direct baseline.
   */
  measuredPid(): number | undefined;
  /** The echo server processes behind it (a proxy's children, or the upstream server). */
  serverPids(): number[];
  /** The measured process's output (start-up lines, logs). */
  measuredOutput(): LineBuffer | undefined;
  /** The measured process's V8 inspector port, when started for profiling. */
  inspectorPort?: number;
  /** Stops whatever `start` started (client transports are closed by their clients). */
  stop(): Promise<void>;
}

/** Starts the system a scenario measures. */
export async function startEndpoint(ctx: BenchContext, s: Scenario): Promise<Endpoint> {
  switch (s.shape) {
    case "stdio":
      return stdioEndpoint("node", [ctx.everything, "stdio"], false);
    case "http": {
      const upstream = await startEverythingHttp(ctx);
      return httpEndpoint(upstream.url, "mcp", upstream.process, false);
    }
    case "client": {
      const upstream = await startEverythingHttp(ctx);
      const [command, args, inspectorPort] = clientModeCommand(ctx, s.system, upstream.url);
      const endpoint = stdioEndpoint(command, args, true);
      return {
        ...endpoint,
        inspectorPort,
        serverPids: () => [upstream.process.pid],
        stop: () => upstream.process.stop(),
      };
    }
    case "mcp":
    case "sse":
      return await startServerMode(ctx, s.system, s.shape);
  }
}

/** The everything server in its own Streamable HTTP mode on a free port. */
export async function startEverythingHttp(
  ctx: BenchContext,
): Promise<{ url: string; process: Started }> {
  const port = freePort();
  const process = startProcess({
    command: "node",
    args: [ctx.everything, "streamableHttp"],
    env: { PORT: String(port) },
  });
  await waitOrStop(process, waitForPort(port));
  return { url: `http://127.0.0.1:${port}/mcp`, process };
}

/** A command line, and the V8 inspector port it opens (our proxy, when profiling). */
export type CommandLine = [command: string, args: string[], inspectorPort?: number];

/**
 * `command args…`, with `--inspect` on a free port added when `inspect` is set and the command
 * is `deno run` (a compiled binary cannot take it).
 */
export function inspectable(command: string, args: string[], inspect?: boolean): CommandLine {
  if (!inspect || args[0] !== "run") return [command, args];
  const port = freePort();
  return [command, [args[0], `--inspect=127.0.0.1:${port}`, ...args.slice(1)], port];
}

/** Our proxy's command line with `extra` arguments (and the inspector when profiling). */
function ours(ctx: BenchContext, extra: string[]): CommandLine {
  return inspectable(ctx.proxy.command, [...ctx.proxy.args, ...extra], ctx.inspect);
}

function peer(ctx: BenchContext, system: "supergateway" | "mcp-proxy"): string[] {
  if (!ctx.peers) throw new Error(`${system} is not installed (run without --no-peers)`);
  return ctx.peers.nodeArgs(system);
}

function clientModeCommand(ctx: BenchContext, system: System, url: string): CommandLine {
  switch (system) {
    case "ours":
      return ours(ctx, ["--transport", "streamablehttp", url]);
    case "supergateway":
      return ["node", [...peer(ctx, "supergateway"), "--streamableHttp", url]];
    default:
      throw new Error(`${system} has no client mode`);
  }
}

async function startServerMode(
  ctx: BenchContext,
  system: System,
  shape: "mcp" | "sse",
): Promise<Endpoint> {
  const child = ["node", ctx.everything, "stdio"];
  if (system === "ours") {
    const [command, args, inspectorPort] = ours(ctx, ["--port", "0", "--", ...child]);
    const process = startProcess({ command, args });
    const path = shape === "mcp" ? "mcp" : "sse";
    const match = await waitOrStop(
      process,
      process.output.waitFor(new RegExp(`(http://\\S+/${path})\\s*$`)),
    );
    return { ...httpEndpoint(match[1], shape, process, true), inspectorPort };
  }
  const port = freePort();
  let args: string[];
  if (system === "supergateway") {
    // Stateful: one child per session. Stateless (its default) spawns a child per POST.
    args = [
      ...peer(ctx, system),
      ...["--stdio", child.map((word) => `'${word}'`).join(" ")],
      ...["--outputTransport", shape === "mcp" ? "streamableHttp" : "sse", "--port", String(port)],
      ...(shape === "mcp" ? ["--stateful"] : []),
    ];
  } else if (system === "mcp-proxy") {
    args = [...peer(ctx, system), "--host", "127.0.0.1", "--port", String(port), "--", ...child];
  } else {
    throw new Error(`${system} has no server mode`);
  }
  const process = startProcess({ command: "node", args });
  await waitOrStop(process, waitForPort(port));
  const url = `http://127.0.0.1:${port}/${shape}`;
  return httpEndpoint(url, shape, process, true);
}

/** Stops `process` when `pending` fails (so a failed start leaks nothing). */
export async function waitOrStop<T>(process: Started, pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (error) {
    await process.stop();
    throw new Error(`${error}\n--- output ---\n${process.output.tail()}`);
  }
}

function httpEndpoint(
  url: string,
  shape: "mcp" | "sse",
  process: Started,
  measured: boolean,
): Endpoint {
  return {
    newTransport: () =>
      shape === "mcp"
        ? new StreamableHTTPClientTransport(new URL(url))
        : new SSEClientTransport(new URL(url)),
    measuredPid: () => measured ? process.pid : undefined,
    serverPids: () => measured ? descendants(process.pid) : [process.pid],
    measuredOutput: () => measured ? process.output : undefined,
    stop: () => process.stop(),
  };
}

/** Clients that each spawn `command` and speak to it on stdio (its stderr is drained). */
function stdioEndpoint(command: string, args: string[], measured: boolean): Endpoint {
  let latest: { transport: StdioClientTransport; output: LineBuffer } | undefined;
  return {
    newTransport: () => {
      const transport = new StdioClientTransport({
        command,
        args,
        env: Deno.env.toObject(),
        stderr: "pipe",
      });
      const output = new LineBuffer();
      const decoder = new TextDecoder();
      transport.stderr?.on("data", (chunk: Uint8Array) => output.push(decoder.decode(chunk)));
      transport.stderr?.on("end", () => output.end());
      latest = { transport, output };
      return transport;
    },
    measuredPid: () => measured ? latest?.transport.pid ?? undefined : undefined,
    serverPids: () => {
      const pid = latest?.transport.pid;
      return pid == null ? [] : measured ? descendants(pid) : [pid];
    },
    measuredOutput: () => measured ? latest?.output : undefined,
    stop: () => Promise.resolve(),
  };
}
