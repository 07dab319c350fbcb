/**
 * Measuring one running proxy in windows: a closed loop of calls, and the proxy's CPU per call
 * and calls/s over the window. The gateway and observability rows alternate such windows
 * between two ways of calling the same process.
 * @module
 */
import { parseArgs } from "node:util";
import { runClosedLoop } from "../load.ts";
import { readCpuMs } from "../process.ts";
import type { LeanClient } from "./clients.ts";

/** One measured window: CPU per call of the proxy, µs, and calls/s. */
export interface Window {
  /** The proxy's user and system CPU over the window, per completed call, µs. */
  readonly cpuUsPerCall: number;
  /** Calls completed in the window, per second. */
  readonly callsPerSecond: number;
}

/** How to measure: rounds, in-flight levels, window lengths, sessions. */
export interface WindowOptions {
  /** Rounds, each measuring every way of calling once per level. */
  readonly rounds: number;
  /** Calls kept in flight, one level after the other. */
  readonly inFlight: readonly number[];
  /** Unmeasured calls before each window, ms. */
  readonly warmupMs: number;
  /** The measured window, ms. */
  readonly durationMs: number;
  /** Sessions per endpoint; calls in flight are spread over them. */
  readonly sessions: number;
}

/** Runs `clients` in a closed loop of `inFlight` slots; the proxy `pid`'s CPU per call. */
export async function window(
  pid: number,
  clients: readonly LeanClient[],
  inFlight: number,
  options: WindowOptions,
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

/**
 * The options of the command line `args`: `--rounds` (5), `--in-flight` (1,8), `--warmup`
 * seconds (0.5), `--duration` seconds (2), `--sessions` (4).
 */
export function windowOptions(args: string[]): WindowOptions {
  const { values } = parseArgs({
    args,
    options: {
      rounds: { type: "string", default: "5" },
      "in-flight": { type: "string", default: "1,8" },
      warmup: { type: "string", default: "0.5" },
      duration: { type: "string", default: "2" },
      sessions: { type: "string", default: "4" },
    },
  });
  return {
    rounds: Number(values.rounds),
    inFlight: values["in-flight"].split(",").map(Number),
    warmupMs: Number(values.warmup) * 1000,
    durationMs: Number(values.duration) * 1000,
    sessions: Number(values.sessions),
  };
}
