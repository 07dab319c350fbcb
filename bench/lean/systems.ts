/**
 * What the lean benchmark starts: our proxy or a minimal relay, in server mode in front of the
 * instant echo child, or in client mode in front of the minimal relay; each with the time from
 * its spawn to its first answer.
 * @module
 */
import { V8_FLAGS_ARGUMENT } from "../../scripts/v8_flags.ts";
import { freePort, LineBuffer, sleep, startProcess } from "../process.ts";
import { type CommandLine, inspectable, waitOrStop } from "../scenarios.ts";
import {
  type LeanClient,
  LEGACY_VERSION,
  legacyHttpClient,
  modernHttpClient,
  requestLine,
  sseClient,
  stdioClient,
} from "./clients.ts";

/**
 * Ours, the minimal relay of the same mode (the baseline), the minimal relay with the protocol's
 * checks (`--checks`: server mode only), or an older build of ours (`--old`, to measure a change
 * old against new in one run).
 */
export type LeanSystem = "ours" | "minimal" | "checked" | "old";

/** Whether `system` is one of our builds (not a minimal relay). */
const isOurs = (system: LeanSystem): system is "ours" | "old" =>
  system === "ours" || system === "old";

/** What the clients speak: /mcp in either era, /sse, or stdio to a client-mode relay. */
export type LeanShape = "mcp-legacy" | "mcp-modern" | "sse" | "client";

/** How to start the systems. */
export interface LeanContext {
  /** Our proxy's command line, without mode arguments. */
  proxy: { command: string; args: string[] };
  /** The older build's command line, for the `old` system. */
  old?: { command: string; args: string[] };
  /** Start Deno processes under test with the V8 inspector (for `--profile`). */
  inspect?: boolean;
  /**
   * Run the process under test on CPU 0 and its children on the others (`--pin`): the bench
   * itself has pinned its own threads there, so that clients, children and the measured
   * process never take turns on one core.
   */
  pin?: boolean;
}

/** The CPUs a pinned run gives everything but the process under test: all but CPU 0. */
export function otherCpus(): string {
  const count = navigator.hardwareConcurrency;
  if (count < 2) throw new Error("--pin needs at least 2 CPUs");
  return count === 2 ? "1" : `1-${count - 1}`;
}

/** `line` run on CPU 0 alone (`taskset` execs it: the pid stays the measured process's). */
function pinned(ctx: LeanContext, [command, args, port]: CommandLine): CommandLine {
  return ctx.pin ? ["taskset", ["-c", "0", command, ...args], port] : [command, args, port];
}

/** The echo child's command line, on the other CPUs when the run is pinned. */
function echoChild(ctx: LeanContext): string[] {
  return ctx.pin ? ["taskset", "-c", otherCpus(), ...ECHO_CHILD] : ECHO_CHILD;
}

/** A started system under test. */
export interface LeanInstance {
  /** The measured process: the proxy or relay (not the echo child, not the upstream). */
  pid: number;
  /** Spawn to the first `initialize` answer, ms. */
  startupMs: number;
  /** Its V8 inspector port, when started for profiling. */
  inspectorPort?: number;
  /** Server mode: its base URL (`http://127.0.0.1:port`). */
  url?: string;
  /** Its stderr (and stdout in server mode), for error messages. */
  output: LineBuffer;
  /** `count` clients (client mode has one process, hence one client, whatever the count). */
  clients(count: number): Promise<LeanClient[]>;
  /** Stops everything it started. */
  stop(): Promise<void>;
}

const here = (file: string) => new URL(file, import.meta.url).pathname;
const deno = Deno.execPath();
/** The instant echo child's command line. */
export const ECHO_CHILD: string[] = [deno, "run", "--quiet", here("./echo_child.ts")];

/**
 * How the minimal relays run: with the V8 flags ours ships with (`scripts/v8_flags.ts`), so that
 * memory and garbage collection are compared like with like.
 */
const RELAY_RUN = ["run", "-A", V8_FLAGS_ARGUMENT, "--quiet"];

/** The command line of ours or the older build of ours. */
function proxyOf(ctx: LeanContext, system: "ours" | "old") {
  if (system === "ours") return ctx.proxy;
  if (!ctx.old) throw new Error("no older build given (--old)");
  return ctx.old;
}

function serverCommand(ctx: LeanContext, system: LeanSystem, port: number): CommandLine {
  if (isOurs(system)) {
    const extra = ["--host", "127.0.0.1", "--port", String(port), "--", ...echoChild(ctx)];
    const proxy = proxyOf(ctx, system);
    return pinned(ctx, inspectable(proxy.command, [...proxy.args, ...extra], ctx.inspect));
  }
  const checks = system === "checked" ? ["--checks"] : [];
  const relay = [
    ...RELAY_RUN,
    here("./minimal_relay.ts"),
    ...checks,
    String(port),
    "--",
  ];
  return pinned(ctx, inspectable(deno, [...relay, ...echoChild(ctx)], ctx.inspect));
}

function clientCommand(ctx: LeanContext, system: LeanSystem, url: string): CommandLine {
  if (system === "checked") throw new Error("the relay with checks is server mode only");
  if (isOurs(system)) {
    const extra = ["--transport", "streamablehttp", url];
    const proxy = proxyOf(ctx, system);
    return pinned(ctx, inspectable(proxy.command, [...proxy.args, ...extra], ctx.inspect));
  }
  return pinned(
    ctx,
    inspectable(deno, [...RELAY_RUN, here("./minimal_client_relay.ts"), url]),
  );
}

/** Starts `system` for `shape`; resolves once it has answered its first `initialize`. */
export function startInstance(
  ctx: LeanContext,
  system: LeanSystem,
  shape: LeanShape,
): Promise<LeanInstance> {
  return shape === "client" ? startClientMode(ctx, system) : startServerMode(ctx, system, shape);
}

async function startServerMode(
  ctx: LeanContext,
  system: LeanSystem,
  shape: Exclude<LeanShape, "client">,
): Promise<LeanInstance> {
  if (!isOurs(system) && shape === "sse") throw new Error("the minimal relay has no /sse");
  const port = freePort();
  const [command, args, inspectorPort] = serverCommand(ctx, system, port);
  const process = startProcess({ command, args });
  const base = `http://127.0.0.1:${port}`;
  const startupMs = await waitOrStop(process, firstAnswer(`${base}/mcp`, process.spawnedAt));
  return {
    pid: process.pid,
    startupMs,
    inspectorPort,
    url: base,
    output: process.output,
    clients: (count) =>
      openAll(count, () => {
        switch (shape) {
          case "mcp-legacy":
            return legacyHttpClient(`${base}/mcp`);
          case "mcp-modern":
            return Promise.resolve(modernHttpClient(`${base}/mcp`));
          case "sse":
            return sseClient(`${base}/sse`);
        }
      }),
    stop: () => process.stop(),
  };
}

/**
 * Spawn (at `spawnedAt`) to the first answer of `initialize` on `url`, ms; retries while
 * nothing listens or the server answers with an error status (still starting).
 */
export async function firstAnswer(
  url: string,
  spawnedAt: number,
  timeoutMs = 30_000,
): Promise<number> {
  const body = requestLine(0, "initialize", {
    protocolVersion: LEGACY_VERSION,
    capabilities: {},
    clientInfo: { name: "mcp-proxy-lean-bench-startup", version: "0.1.0" },
  });
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  let last: unknown;
  while (performance.now() - spawnedAt < timeoutMs) {
    try {
      const response = await fetch(url, { method: "POST", headers, body });
      const text = await response.text();
      if (response.ok && text.includes('"result"')) return performance.now() - spawnedAt;
      last = `HTTP ${response.status} ${text.slice(0, 200)}`;
    } catch (error) {
      last = error;
    }
    await sleep(2);
  }
  throw new Error(`no initialize answer from ${url} within ${timeoutMs} ms: ${last}`);
}

async function startClientMode(ctx: LeanContext, system: LeanSystem): Promise<LeanInstance> {
  const upstream = await startServerMode({ proxy: ctx.proxy }, "minimal", "mcp-legacy");
  const url = `${upstream.url}/mcp`;
  const [command, args, inspectorPort] = clientCommand(ctx, system, url);
  const spawnedAt = performance.now();
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = new LineBuffer();
  const drained = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) output.push(text);
  })().catch(() => {}).finally(() => output.end());
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await Promise.all([child.status, drained, upstream.stop()]);
  };
  let client: LeanClient;
  try {
    client = await stdioClient({ stdin: child.stdin, stdout: child.stdout });
  } catch (error) {
    await stop();
    throw new Error(`${error}\n--- output ---\n${output.tail()}`);
  }
  return {
    pid: child.pid,
    startupMs: performance.now() - spawnedAt,
    inspectorPort,
    output,
    clients: () => Promise.resolve([client]),
    stop: async () => {
      await client.close();
      await stop();
    },
  };
}

async function openAll(count: number, open: () => Promise<LeanClient>): Promise<LeanClient[]> {
  const clients: LeanClient[] = [];
  try {
    for (let i = 0; i < count; i++) clients.push(await open());
  } catch (error) {
    await Promise.allSettled(clients.map((c) => c.close()));
    throw error;
  }
  return clients;
}
