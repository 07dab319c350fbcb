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
import { proxyCommand } from "../../tests/support/paths.ts";
import { freePort, startProcess, waitForPort } from "../process.ts";
import { markdownTable } from "../report.ts";
import { type LeanClient, legacyHttpClient } from "./clients.ts";
import { spread } from "./report.ts";
import { ECHO_CHILD } from "./systems.ts";
import { type Window, window, type WindowOptions, windowOptions } from "./windows.ts";

/** Per round and in-flight level: the direct endpoint's window and the aggregate's. */
export interface AggregateRound {
  readonly inFlight: number;
  readonly direct: Window;
  readonly aggregate: Window;
}

/** Starts the proxy with the echo child and its aggregate, and measures both endpoints. */
export async function measureAggregate(options: WindowOptions): Promise<AggregateRound[]> {
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
  console.log(aggregateTable(await measureAggregate(windowOptions(Deno.args))));
}
