/**
 * The lean benchmark's run: interleaved rounds of each system (ours, then the minimal relay,
 * the order alternating per round), each started afresh per round, measured at every in-flight
 * level with the instant echo child behind it.
 * @module
 */
import { runClosedLoop } from "../load.ts";
import { readCpuMs, readMemory, sleep } from "../process.ts";
import { Profiler, saveProfile } from "../profile.ts";
import type { LeanClient } from "./clients.ts";
import {
  type LeanContext,
  type LeanInstance,
  type LeanShape,
  type LeanSystem,
  startInstance,
} from "./systems.ts";

/** How the lean benchmark runs. */
export interface LeanOptions {
  /** Interleaved rounds (each figure is a median over them). */
  rounds: number;
  /** Calls in flight, one level after another on the same instance. */
  inFlight: number[];
  /** HTTP sessions the slots are spread over (at most one per slot). */
  sessions: number;
  /** Warm-up before each level's window, ms. */
  warmupMs: number;
  /** Each level's measured window, ms. */
  durationMs: number;
  /** Only runs whose id (`ours-mcp-legacy`, `minimal-client`, …) matches. */
  only?: RegExp;
  /** Profile the Deno process under test during each window; profiles go here. */
  profileDir?: string;
}

/** One system and shape, measured once per round. */
export interface LeanRun {
  /** The system under test. */
  system: LeanSystem;
  /** What its clients speak. */
  shape: LeanShape;
}

/** Every run of a round, in pairs (ours, then its baseline) where a baseline exists. */
export const LEAN_RUNS: readonly LeanRun[] = [
  { system: "ours", shape: "mcp-legacy" },
  { system: "minimal", shape: "mcp-legacy" },
  { system: "checked", shape: "mcp-legacy" },
  { system: "ours", shape: "mcp-modern" },
  { system: "minimal", shape: "mcp-modern" },
  { system: "ours", shape: "sse" },
  { system: "ours", shape: "client" },
  { system: "minimal", shape: "client" },
];

/** The id of a run, for `--only` and file names. */
export const runId = (run: LeanRun): string => `${run.system}-${run.shape}`;

/** One in-flight level of one run in one round. */
export interface LevelResult {
  /** Calls in flight. */
  inFlight: number;
  /** Checked answers per second in the window. */
  callsPerSecond: number;
  /** CPU time (user + system) of the process under test per call, µs. */
  cpuUsPerCall: number;
  /** Its RSS at the end of the window (calls still in flight), MiB. */
  rssMb: number;
  /** Median and 99th-percentile latency, ms. */
  p50Ms: number;
  /** 99th-percentile latency, ms. */
  p99Ms: number;
  /** Failed calls in the window. */
  errors: number;
  /** The first failure, if any. */
  firstError?: string;
}

/** One run in one round. */
export interface RunResult extends LeanRun {
  /** Round number, from 1. */
  round: number;
  /** Spawn to the first `initialize` answer, ms. */
  startupMs?: number;
  /** RSS with the sessions open, before any call, MiB. */
  idleRssMb?: number;
  /** One per in-flight level. */
  levels: LevelResult[];
  /** Why the system could not be measured (it failed to start, or a level failed). */
  error?: string;
  /** Why the system refuses this shape's requests (e.g. the modern era, before it lands). */
  unsupported?: string;
}

const MIB = 1024;

/** Runs every selected run `options.rounds` times, interleaved; progress goes to stderr. */
export async function runLean(ctx: LeanContext, options: LeanOptions): Promise<RunResult[]> {
  const selected = LEAN_RUNS.filter((run) => !options.only || options.only.test(runId(run)))
    // With an older build, each of our runs is followed by the same run of the older build.
    .flatMap((run) =>
      ctx.old && run.system === "ours" ? [run, { system: "old" as const, shape: run.shape }] : [run]
    );
  const results: RunResult[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    // Alternate the order within each shape, so no system always runs on a warmer machine.
    const order = round % 2 ? selected : groupsReversed(selected);
    for (const run of order) {
      const result = await measureRun(ctx, run, round, options);
      results.push(result);
      console.error(`round ${round} ${runId(run)}: ${progressLine(result)}`);
    }
  }
  return results;
}

function groupsReversed(runs: readonly LeanRun[]): LeanRun[] {
  const out: LeanRun[] = [];
  for (let i = 0; i < runs.length;) {
    let end = i + 1;
    while (end < runs.length && runs[end].shape === runs[i].shape) end++;
    out.push(...runs.slice(i, end).reverse());
    i = end;
  }
  return out;
}

function progressLine(result: RunResult): string {
  if (result.error) return `FAILED: ${result.error.split("\n")[0]}`;
  if (result.unsupported) return `unsupported: ${result.unsupported.slice(0, 160)}`;
  return `start ${result.startupMs?.toFixed(0)} ms, ` +
    result.levels.map((l) =>
      `${l.inFlight}: ${l.callsPerSecond.toFixed(0)}/s ${l.cpuUsPerCall.toFixed(0)} µs`
    ).join(", ");
}

/** Starts `run`'s system, measures it at every level, stops it; failures are recorded. */
export async function measureRun(
  ctx: LeanContext,
  run: LeanRun,
  round: number,
  options: LeanOptions,
): Promise<RunResult> {
  const result: RunResult = { ...run, round, levels: [] };
  let instance: LeanInstance | undefined;
  let clients: LeanClient[] = [];
  try {
    instance = await startInstance(ctx, run.system, run.shape);
    result.startupMs = instance.startupMs;
    clients = await instance.clients(Math.min(options.sessions, Math.max(...options.inFlight)));
    try {
      await clients[0].call();
    } catch (error) {
      if (run.shape !== "mcp-modern") throw error;
      result.unsupported = error instanceof Error ? error.message : String(error);
      return result;
    }
    await sleep(500); // let start-up garbage settle before the idle reading
    result.idleRssMb = (readMemory(instance.pid)?.rssKb ?? NaN) / MIB;
    for (const inFlight of options.inFlight) {
      const level = await measureLevel(
        instance,
        clients,
        inFlight,
        options,
        `${runId(run)}-c${inFlight}-r${round}`,
      );
      result.levels.push(level);
      if (level.callsPerSecond === 0) throw new Error(level.firstError ?? "no call completed");
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    const output = instance?.output.tail();
    if (output) result.error += `\n--- output ---\n${output}`;
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    await instance?.stop();
  }
  return result;
}

async function measureLevel(
  instance: LeanInstance,
  clients: LeanClient[],
  inFlight: number,
  options: LeanOptions,
  profileName: string,
): Promise<LevelResult> {
  const used = Math.min(inFlight, clients.length);
  const slots = Array.from({ length: inFlight }, (_, i) => () => clients[i % used].call());
  const profiler = options.profileDir && instance.inspectorPort !== undefined
    ? await Profiler.attach(instance.inspectorPort)
    : undefined;
  let cpu0 = 0, cpuMs = NaN, rssKb = NaN;
  try {
    const load = await runClosedLoop(slots, {
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      onWindowStart: async () => {
        cpu0 = readCpuMs(instance.pid) ?? NaN;
        await profiler?.start();
      },
      onWindowEnd: () => {
        cpuMs = (readCpuMs(instance.pid) ?? NaN) - cpu0;
        rssKb = readMemory(instance.pid)?.rssKb ?? NaN;
      },
    });
    if (profiler) {
      await saveProfile(options.profileDir!, profileName, await profiler.stop(), load.calls);
    }
    return {
      inFlight,
      callsPerSecond: load.callsPerSecond,
      cpuUsPerCall: (cpuMs * 1000) / load.calls,
      rssMb: rssKb / MIB,
      p50Ms: load.p50Ms,
      p99Ms: load.p99Ms,
      errors: load.errors,
      firstError: load.firstError,
    };
  } finally {
    profiler?.close();
  }
}
