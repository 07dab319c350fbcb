/**
 * What the aggregate costs per call: one proxy serving the lean echo child as the named server
 * `echo`, called on its own endpoint (`/servers/echo/mcp`, tool `echo`) and through the
 * aggregate (`/mcp`, tool `echo__echo`), the two measured in alternating windows of the same
 * process. The figure is the proxy's CPU per call (the child's not included) and calls/s; the
 * ratio is taken per round (aggregate ÷ direct) and reported as the median over rounds.
 *
 * Run: `deno run -A bench/lean/aggregate_cost.ts [--rounds N] [--in-flight 1,8] [--duration S]`
 * (`MCP_PROXY_BIN` measures a built binary instead of main.ts).
 * @module
 */
import { parseArgs } from "node:util";
import { proxyCommand } from "../../tests/support/paths.ts";
import { runClosedLoop } from "../load.ts";
import { freePort, readCpuMs, startProcess, waitForPort } from "../process.ts";
import { markdownTable } from "../report.ts";
import { type LeanClient, legacyHttpClient } from "./clients.ts";
import { spread } from "./report.ts";
import { ECHO_CHILD } from "./systems.ts";

/** One measured window: CPU per call of the proxy, µs, and calls/s. */
export interface Window {
  readonly cpuUsPerCall: number;
  readonly callsPerSecond: number;
}

/** Per round and in-flight level: the direct endpoint's window and the aggregate's. */
export interface AggregateRound {
  readonly inFlight: number;
  readonly direct: Window;
  readonly aggregate: Window;
}

/** How to measure. */
export interface AggregateOptions {
  readonly rounds: number;
  readonly inFlight: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Sessions per endpoint; calls in flight are spread over them. */
  readonly sessions: number;
}

/** Runs `clients` in a closed loop of `inFlight` slots; the proxy `pid`'s CPU per call. */
export async function window(
  pid: number,
  clients: readonly LeanClient[],
  inFlight: number,
  options: AggregateOptions,
): Promise<Window> {
  const slots = Array.from(
    { length: inFlight },
    (_, i) => () => clients[i % clients.length].call(),
  );
  let cpu0 = 0, cpuMs = NaN;
  const load = await runClosedLoop(slots, {
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    onWindowStart: () => void (cpu0 = readCpuMs(pid) ?? NaN),
    onWindowEnd: () => void (cpuMs = (readCpuMs(pid) ?? NaN) - cpu0),
  });
  if (load.calls === 0) throw new Error(load.firstError ?? "no call completed");
  return { cpuUsPerCall: (cpuMs * 1000) / load.calls, callsPerSecond: load.callsPerSecond };
}

/** Starts the proxy with the echo child and its aggregate, and measures both endpoints. */
export async function measureAggregate(options: AggregateOptions): Promise<AggregateRound[]> {
  const dir = await Deno.makeTempDir();
  const config = `${dir}/servers.json`;
  const [command, ...args] = ECHO_CHILD;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ aggregate: true, mcpServers: { echo: { command, args } } }),
  );
  const port = freePort();
  const proxy = proxyCommand();
  const process = startProcess({
    command: proxy.command,
    args: [...proxy.args, "--port", String(port), "--named-server-config", config],
  });
  const clients: LeanClient[] = [];
  try {
    await waitForPort(port);
    const base = `http://127.0.0.1:${port}`;
    const open = async (url: string, tool: string) => {
      const opened = [];
      for (let i = 0; i < options.sessions; i++) opened.push(await legacyHttpClient(url, tool));
      clients.push(...opened);
      return opened;
    };
    const direct = await open(`${base}/servers/echo/mcp`, "echo");
    const aggregate = await open(`${base}/mcp`, "echo__echo");
    const rounds: AggregateRound[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const inFlight of options.inFlight) {
        // The order alternates per round, so that neither side always runs on a warmer process.
        const [first, second] = round % 2 === 0 ? [direct, aggregate] : [aggregate, direct];
        const a = await window(process.pid, first, inFlight, options);
        const b = await window(process.pid, second, inFlight, options);
        const [d, g] = round % 2 === 0 ? [a, b] : [b, a];
        rounds.push({ inFlight, direct: d, aggregate: g });
      }
    }
    return rounds;
  } catch (error) {
    throw new Error(`${error}\n--- proxy output ---\n${process.output.tail()}`);
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The rows: per in-flight level, CPU per call and calls/s, aggregate against direct. */
export function aggregateTable(rounds: readonly AggregateRound[]): string {
  const levels = [...new Set(rounds.map((r) => r.inFlight))];
  const us = (v: number) => v.toFixed(0);
  const ratio = (v: number) => v.toFixed(2);
  return markdownTable(
    ["in flight", "CPU µs/call: aggregate", "direct", "aggregate / direct", "calls/s ratio"],
    levels.map((inFlight) => {
      const at = rounds.filter((r) => r.inFlight === inFlight);
      return [
        String(inFlight),
        spread(at.map((r) => r.aggregate.cpuUsPerCall), us),
        spread(at.map((r) => r.direct.cpuUsPerCall), us),
        spread(at.map((r) => r.aggregate.cpuUsPerCall / r.direct.cpuUsPerCall), ratio),
        spread(at.map((r) => r.aggregate.callsPerSecond / r.direct.callsPerSecond), ratio),
      ];
    }),
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "5" },
      "in-flight": { type: "string", default: "1,8" },
      warmup: { type: "string", default: "0.5" },
      duration: { type: "string", default: "2" },
      sessions: { type: "string", default: "4" },
    },
  });
  const rounds = await measureAggregate({
    rounds: Number(values.rounds),
    inFlight: values["in-flight"].split(",").map(Number),
    warmupMs: Number(values.warmup) * 1000,
    durationMs: Number(values.duration) * 1000,
    sessions: Number(values.sessions),
  });
  console.log(aggregateTable(rounds));
}
