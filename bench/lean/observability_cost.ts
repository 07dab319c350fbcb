/**
 * What observability costs per call: four proxies in front of the lean echo child, started
 * together and measured in turn (the order rotating per round), with everything off
 * (`--no-call-log`), with the call log (the default), with `--metrics` (and `/metrics` scraped
 * once a second, as Prometheus would), and with traces exported over OTLP (to a sink in this
 * process that reads and drops them). The figure is each proxy's CPU per call (the child's not
 * included) and calls/s; the ratio to "off" is taken per round and reported as the median over
 * rounds.
 *
 * Run: `deno run -A bench/lean/observability_cost.ts [--rounds N] [--in-flight 1,8]`
 * (`MCP_PROXY_BIN` measures a built binary instead of main.ts).
 * @module
 */
import { proxyCommand } from "../../tests/support/paths.ts";
import { freePort, startProcess, waitForPort } from "../process.ts";
import { markdownTable } from "../report.ts";
import { type Window, window, type WindowOptions, windowOptions } from "./windows.ts";
import { type LeanClient, legacyHttpClient } from "./clients.ts";
import { spread } from "./report.ts";
import { ECHO_CHILD } from "./systems.ts";

/** What is on in each proxy measured. */
export const VARIANTS = ["off", "call log", "metrics", "traces"] as const;

/** One of {@linkcode VARIANTS}. */
export type Variant = typeof VARIANTS[number];

/** Per round and in-flight level: each variant's window. */
export interface ObservabilityRound {
  readonly inFlight: number;
  readonly windows: Readonly<Record<Variant, Window>>;
}

/** The arguments and environment of the proxy of `variant`; `otlp` is the trace sink. */
function variantCommand(
  variant: Variant,
  otlp: string,
): { args: string[]; env: Record<string, string> } {
  switch (variant) {
    case "off":
      return { args: ["--no-call-log"], env: {} };
    case "call log":
      return { args: [], env: {} };
    case "metrics":
      return { args: ["--no-call-log", "--metrics"], env: {} };
    case "traces":
      return { args: ["--no-call-log"], env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp } };
  }
}

/** Starts the four proxies and measures each in turn, `options.rounds` times. */
export async function measureObservability(
  options: WindowOptions,
): Promise<ObservabilityRound[]> {
  let spans = 0;
  const sink = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    spans += (await request.text()).split('"spanId"').length - 1;
    return Response.json({});
  });
  const proxy = proxyCommand();
  const started = VARIANTS.map((variant) => {
    const port = freePort();
    const { args, env } = variantCommand(variant, `http://127.0.0.1:${sink.addr.port}`);
    const process = startProcess({
      command: proxy.command,
      args: [...proxy.args, ...args, "--port", String(port), "--", ...ECHO_CHILD],
      env,
    });
    return { variant, port, process, clients: [] as LeanClient[] };
  });
  // Prometheus's part: a scrape a second of the proxy with metrics.
  const metricsPort = started.find(({ variant }) => variant === "metrics")!.port;
  const scraper = setInterval(() => {
    fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.body?.cancel(), () => {});
  }, 1_000);
  try {
    for (const each of started) {
      await waitForPort(each.port);
      for (let i = 0; i < options.sessions; i++) {
        each.clients.push(await legacyHttpClient(`http://127.0.0.1:${each.port}/mcp`));
      }
    }
    const rounds: ObservabilityRound[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const inFlight of options.inFlight) {
        const windows = {} as Record<Variant, Window>;
        // The order rotates per round, so that no variant always runs on a warmer machine.
        for (let i = 0; i < started.length; i++) {
          const { variant, process, clients } = started[(i + round) % started.length];
          windows[variant] = await window(process.pid, clients, inFlight, options);
        }
        rounds.push({ inFlight, windows });
      }
    }
    if (spans === 0) throw new Error("no span was exported");
    return rounds;
  } catch (error) {
    const output = started.map(({ variant, process }) =>
      `--- ${variant} ---\n${process.output.tail()}`
    );
    throw new Error(`${error}\n${output.join("\n")}`);
  } finally {
    clearInterval(scraper);
    await Promise.allSettled(started.flatMap(({ clients }) => clients.map((c) => c.close())));
    await Promise.all(started.map(({ process }) => process.stop()));
    await sink.shutdown();
  }
}

/** The rows: per in-flight level and variant, CPU per call and its ratio to "off". */
export function observabilityTable(rounds: readonly ObservabilityRound[]): string {
  const levels = [...new Set(rounds.map((r) => r.inFlight))];
  const us = (v: number) => v.toFixed(0);
  const ratio = (v: number) => v.toFixed(3);
  return markdownTable(
    ["in flight", "on", "CPU µs/call", "÷ off", "calls/s", "÷ off"],
    levels.flatMap((inFlight) => {
      const at = rounds.filter((r) => r.inFlight === inFlight);
      return VARIANTS.map((variant) => {
        const of = (r: ObservabilityRound) => r.windows[variant];
        const off = (r: ObservabilityRound) => r.windows.off;
        return [
          String(inFlight),
          variant,
          spread(at.map((r) => of(r).cpuUsPerCall), us),
          spread(at.map((r) => of(r).cpuUsPerCall / off(r).cpuUsPerCall), ratio),
          spread(at.map((r) => of(r).callsPerSecond), us),
          spread(at.map((r) => of(r).callsPerSecond / off(r).callsPerSecond), ratio),
        ];
      });
    }),
  );
}

if (import.meta.main) {
  console.log(observabilityTable(await measureObservability(windowOptions(Deno.args))));
}
