/**
 * `deno task bench`: throughput, latency, memory and start-up of mcp-proxy against its peers
 * and the echo server spoken to directly. See bench/README.md.
 *
 * ```sh
 * deno task bench                 # full run, a few minutes
 * deno task bench --quick         # short windows, for a smoke check
 * deno task bench --only 'ours-mcp|direct-http' --duration 10
 * deno task bench --only ours-mcp-c8 --profile /tmp/prof   # CPU profile of our proxy
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { commandFor, EVERYTHING_SERVER, proxyCommand } from "../tests/support/paths.ts";
import { closeAll, connect, connectAll, runLoad, type Session, timeToInitialize } from "./load.ts";
import { installPeers, type PeerInstall, removePeers } from "./peers.ts";
import { Profiler, saveProfile } from "./profile.ts";
import { renderLeanReport } from "./lean/report.ts";
import { LEAN_RUNS, runId, runLean } from "./lean/run.ts";
import { otherCpus } from "./lean/systems.ts";
import { readCpuMs, readMemory, sleep, stopAll } from "./process.ts";
import {
  type BenchReport,
  loadAverage,
  machineInfo,
  median,
  renderReport,
  type ScenarioResult,
  type StartupResult,
} from "./report.ts";
import {
  type BenchContext,
  type Endpoint,
  type Scenario,
  SCENARIOS,
  startEndpoint,
  type System,
} from "./scenarios.ts";

/** Command-line options of the benchmark. */
export interface BenchOptions {
  /** Warm-up per scenario, ms. */
  warmupMs: number;
  /** Measured window per scenario, ms. */
  durationMs: number;
  /** Client-mode start-up attempts per system. */
  startupRuns: number;
  /** Only scenarios whose id matches (start-up ids: `ours-startup`, `supergateway-startup`). */
  only?: RegExp;
  /** Skip the npm peers. */
  noPeers: boolean;
  /** Reuse (or create) this peer install folder instead of a temporary one. */
  peersDir?: string;
  /** Write the raw results here as JSON. */
  json?: string;
  /** Profile our proxy during each of its measured windows; profiles go here. */
  profileDir?: string;
  /** The lean mode (instant echo child, minimal relays as baselines) instead of the SDK mode. */
  lean: boolean;
  /** Lean mode: interleaved rounds. */
  rounds: number;
  /** Lean mode: calls in flight, one level after another. */
  inFlight: number[];
  /** Lean mode: HTTP sessions the calls are spread over. */
  sessions: number;
  /** Lean mode: an older build of ours (its main.ts, or a binary) measured beside ours. */
  old?: string;
  /** Lean mode: the process under test on CPU 0, everything else on the other CPUs. */
  pin: boolean;
}

const USAGE = `deno task bench [options]
  --quick              0.5 s warm-up, 2 s windows, 2 start-up runs (a smoke check)
  --warmup S           warm-up per scenario in seconds (default 1; env BENCH_WARMUP)
  --duration S         measured window per scenario in seconds (default 5; env BENCH_DURATION)
  --startup-runs N     client-mode start-up attempts per system (default 5)
  --only REGEX         scenarios whose id matches, e.g. 'ours|direct' or 'mcp-c8'
  --no-peers           skip supergateway and npm mcp-proxy (no npm install)
  --peers-dir DIR      install the peers here and reuse them next time (default: a temp dir)
  --json FILE          also write the raw results as JSON
  --profile DIR        CPU-profile our proxy during its windows (V8 inspector); .cpuprofile
                       files and text summaries go to DIR
Lean mode (an instant echo child; ours against minimal relays measured in the same run):
  --lean               run it instead of the SDK-client mode above
  --rounds N           interleaved rounds, figures are medians (default 5; --quick: 2)
  --in-flight LIST     calls in flight, e.g. 1,8,64 (default)
  --sessions N         HTTP sessions the calls are spread over (default 4)
  --warmup, --duration per level (lean defaults 0.5 s and 2 s; --quick: 0.2 s and 0.5 s)
  --only REGEX         lean run ids: ${LEAN_RUNS.map(runId).join(", ")}
  --profile DIR        profiles of each Deno process under test, per level and round
  --old PATH           also run an older build of ours (its main.ts, or a compiled binary)
                       beside each of our runs: a change measured old against new in one run
  --pin                the proxy or relay under test alone on CPU 0, the bench's clients and
                       the children on the other CPUs (Linux, taskset; 2 CPUs at least):
                       steadier CPU figures where they would otherwise take turns on a core
Scenario ids: ${SCENARIOS.map((s) => s.id).join(", ")}, ours-startup, supergateway-startup.
MCP_PROXY_BIN=path benchmarks a built binary instead of \`deno run main.ts\`.`;

/** Parses the command line (and `BENCH_*` variables); `undefined` after `--help`. */
export function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      warmup: { type: "string" },
      duration: { type: "string" },
      "startup-runs": { type: "string" },
      only: { type: "string" },
      "no-peers": { type: "boolean" },
      "peers-dir": { type: "string" },
      json: { type: "string" },
      profile: { type: "string" },
      lean: { type: "boolean" },
      rounds: { type: "string" },
      "in-flight": { type: "string" },
      sessions: { type: "string" },
      old: { type: "string" },
      pin: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const seconds = (flag: string | undefined, env: string, fallback: number) => {
    const text = flag ?? Deno.env.get(env);
    const value = text === undefined ? fallback : Number(text);
    if (!(value >= 0)) throw new Error(`not a number of seconds: ${text}`);
    return Math.round(value * 1000);
  };
  const count = (text: string) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`not a positive integer: ${text}`);
    return value;
  };
  const quick = values.quick ?? false;
  const lean = values.lean ?? false;
  const [warmup, duration] = lean ? (quick ? [0.2, 0.5] : [0.5, 2]) : (quick ? [0.5, 2] : [1, 5]);
  return {
    warmupMs: seconds(values.warmup, "BENCH_WARMUP", warmup),
    durationMs: seconds(values.duration, "BENCH_DURATION", duration),
    startupRuns: Number(values["startup-runs"] ?? (quick ? 2 : 5)),
    only: values.only ? new RegExp(values.only) : undefined,
    noPeers: values["no-peers"] ?? false,
    peersDir: values["peers-dir"],
    json: values.json,
    profileDir: values.profile,
    lean,
    rounds: count(values.rounds ?? (quick ? "2" : "5")),
    inFlight: (values["in-flight"] ?? "1,8,64").split(",").map(count),
    sessions: count(values.sessions ?? "4"),
    old: values.old,
    pin: values.pin ?? false,
  };
}

const isPeer = (system: System) => system === "supergateway" || system === "mcp-proxy";
const MIB = 1024;

/** Runs one scenario from start to stop; failures are recorded, not thrown. */
export async function runScenario(
  ctx: BenchContext,
  scenario: Scenario,
  options: BenchOptions,
): Promise<ScenarioResult> {
  const result: ScenarioResult = { scenario };
  let endpoint: Endpoint | undefined;
  let sessions: Session[] = [];
  let profiler: Profiler | undefined;
  try {
    // For stdio shapes the measured process is spawned by the first client's connect.
    const spawnsOnConnect = scenario.shape === "stdio" || scenario.shape === "client";
    let begin = performance.now();
    endpoint = await startEndpoint(ctx, scenario);
    if (spawnsOnConnect) begin = performance.now();
    sessions.push(await connect(endpoint.newTransport));
    result.startMs = performance.now() - begin;
    sessions = sessions.concat(await connectAll(endpoint.newTransport, scenario.clients - 1));

    const pid = endpoint.measuredPid();
    await sleep(500); // let start-up garbage settle before the idle reading
    if (pid !== undefined) result.idleRssMb = (readMemory(pid)?.rssKb ?? NaN) / MIB;
    if (endpoint.inspectorPort !== undefined) {
      profiler = await Profiler.attach(endpoint.inspectorPort);
    }

    let cpu0 = 0, self0 = 0, wall0 = 0, proxyCpuMs = NaN, servers0 = 0;
    let serverPids: number[] = [];
    const serversCpu = () => serverPids.reduce((sum, p) => sum + (readCpuMs(p) ?? NaN), 0);
    const load = await runLoad(sessions, {
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      onWindowStart: async () => {
        wall0 = performance.now();
        cpu0 = pid === undefined ? 0 : readCpuMs(pid) ?? NaN;
        self0 = readCpuMs("self") ?? NaN;
        serverPids = endpoint!.serverPids();
        servers0 = serversCpu();
        await profiler?.start();
      },
      onWindowEnd: async () => {
        const wall = performance.now() - wall0;
        proxyCpuMs = pid === undefined ? NaN : (readCpuMs(pid) ?? NaN) - cpu0;
        result.proxyCpuPercent = (proxyCpuMs / wall) * 100;
        result.serverCpuPercent = ((serversCpu() - servers0) / wall) * 100;
        result.loadCpuPercent = (((readCpuMs("self") ?? NaN) - self0) / wall) * 100;
        if (profiler) await saveProfile(options.profileDir!, scenario.id, await profiler.stop());
      },
    });
    result.load = load;
    result.cpuMsPerCall = proxyCpuMs / load.calls;
    if (pid !== undefined) result.peakRssMb = (readMemory(pid)?.hwmKb ?? NaN) / MIB;
    if (load.calls === 0) result.error = load.firstError ?? "no call completed";
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    const output = endpoint?.measuredOutput()?.tail();
    if (output) result.error += `\n--- proxy output ---\n${output}`;
  } finally {
    profiler?.close();
    await closeAll(sessions);
    await endpoint?.stop();
  }
  return result;
}

/** Client-mode start-up: spawn to `initialize` result, `runs` times after one unmeasured run. */
export async function measureStartup(
  ctx: BenchContext,
  system: System,
  runs: number,
): Promise<StartupResult> {
  const result: StartupResult = { system, samplesMs: [] };
  let endpoint: Endpoint | undefined;
  try {
    endpoint = await startEndpoint(ctx, {
      id: `${system}-startup`,
      system,
      shape: "client",
      clients: 1,
    });
    await timeToInitialize(endpoint.newTransport); // warms file and module caches
    for (let i = 0; i < runs; i++) {
      result.samplesMs.push(await timeToInitialize(endpoint.newTransport));
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  } finally {
    await endpoint?.stop();
  }
  return result;
}

/** Runs the benchmark and prints the report to stdout (progress goes to stderr). */
export async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseOptions(argv);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    console.log(USAGE);
    return 0;
  }
  if (options.lean) return await mainLean(options, argv);
  const selected = SCENARIOS.filter((s) =>
    (!options.only || options.only.test(s.id)) && !(options.noPeers && isPeer(s.system))
  );
  const startupSystems = (["ours", "supergateway"] as System[]).filter((system) =>
    (!options.only || options.only.test(`${system}-startup`)) &&
    !(options.noPeers && isPeer(system))
  );

  const interrupt = () => stopAll().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", interrupt);
  const machine = await machineInfo();
  let peers: PeerInstall | undefined;
  try {
    if (
      [...selected, ...startupSystems.map((system) => ({ system }))].some((s) => isPeer(s.system))
    ) {
      console.error("installing peers from npm…");
      peers = await installPeers(options.peersDir);
    }
    const ctx: BenchContext = {
      everything: EVERYTHING_SERVER,
      proxy: proxyCommand(),
      peers,
      inspect: options.profileDir !== undefined,
    };
    const report: BenchReport = {
      machine,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      results: [],
      startup: [],
    };
    for (const scenario of selected) {
      console.error(`${scenario.id}…`);
      const result = await runScenario(ctx, scenario, options);
      report.results.push(result);
      console.error(
        result.error
          ? `  FAILED: ${result.error.split("\n")[0]}`
          : `  ${result.load!.callsPerSecond.toFixed(0)} calls/s, p50 ${
            result.load!.p50Ms.toFixed(2)
          } ms`,
      );
    }
    for (const system of startupSystems) {
      console.error(`${system}-startup…`);
      const startup = await measureStartup(ctx, system, options.startupRuns);
      report.startup.push(startup);
      console.error(
        startup.error
          ? `  FAILED: ${startup.error}`
          : `  median ${median(startup.samplesMs).toFixed(0)} ms`,
      );
    }
    machine.loadAfter = loadAverage();
    console.log(renderReport(report));
    if (options.json) {
      await Deno.writeTextFile(options.json, JSON.stringify(report, null, 2) + "\n");
    }
    return report.results.some((r) => r.error) || report.startup.some((s) => s.error) ? 1 : 0;
  } finally {
    Deno.removeSignalListener("SIGINT", interrupt);
    if (peers) await removePeers(peers);
  }
}

/** Moves every thread of this process (and so what it starts) off CPU 0, for `--pin`. */
async function pinSelf(): Promise<void> {
  const args = ["-a", "-p", "-c", otherCpus(), String(Deno.pid)];
  const { success, stderr } = await new Deno.Command("taskset", { args, stdout: "null" }).output();
  if (!success) throw new Error(`taskset ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
}

/** The lean mode: prints its table to stdout; exit code 1 when a run failed. */
async function mainLean(options: BenchOptions, argv: string[]): Promise<number> {
  const machine = await machineInfo();
  if (options.pin) await pinSelf();
  const results = await runLean(
    {
      proxy: proxyCommand(),
      old: options.old === undefined ? undefined : commandFor(options.old),
      inspect: options.profileDir !== undefined,
      pin: options.pin,
    },
    options,
  );
  machine.loadAfter = loadAverage();
  console.log(renderLeanReport(machine, options, `deno task bench ${argv.join(" ")}`, results));
  if (options.json) {
    await Deno.writeTextFile(options.json, JSON.stringify({ machine, results }, null, 2) + "\n");
  }
  return results.some((r) => r.error) ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
