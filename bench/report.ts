/**
 * Results of a benchmark run, and their presentation: the figures table, the ratios against
 * the issue's targets, and the machine the run happened on.
 * @module
 */
import type { LoadResult } from "./load.ts";
import { type Scenario, SHAPE_NAMES, type System, SYSTEM_NAMES } from "./scenarios.ts";

/** Everything measured for one scenario. */
export interface ScenarioResult {
  /** What was measured. */
  scenario: Scenario;
  /** Throughput and latency; absent when the scenario failed. */
  load?: LoadResult;
  /** Why the scenario failed. */
  error?: string;
  /** Proxy RSS after the clients initialised, before any call, MiB. */
  idleRssMb?: number;
  /** Proxy peak RSS (VmHWM) at the end of the run, MiB. */
  peakRssMb?: number;
  /** Proxy CPU time per successful call in the window, ms (its children not included). */
  cpuMsPerCall?: number;
  /** Proxy CPU use in the window, % of one core. */
  proxyCpuPercent?: number;
  /** The echo server processes' CPU use in the window, % of one core (summed). */
  serverCpuPercent?: number;
  /** The benchmark process's own CPU use in the window, % of one core (the load generator). */
  loadCpuPercent?: number;
  /** Spawn of the measured process (or the server) to the first `initialize` result, ms. */
  startMs?: number;
}

/** Repeated start-up timings of client mode (spawn to `initialize` result). */
export interface StartupResult {
  /** System measured. */
  system: System;
  /** Each attempt, ms. */
  samplesMs: number[];
  /** Why it failed, if it did. */
  error?: string;
}

/** The machine and the moment of a run. */
export interface MachineInfo {
  /** ISO date-time of the start. */
  date: string;
  /** `uname -srm`-like description. */
  os: string;
  /** CPU model. */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** Deno and Node versions. */
  runtimes: string;
  /** 1-minute load average before and after the run (the machine may be shared). */
  loadBefore: number;
  /** 1-minute load average after the run. */
  loadAfter?: number;
}

/** A whole run. */
export interface BenchReport {
  /** Where and when. */
  machine: MachineInfo;
  /** Warm-up and measured window per scenario, ms. */
  warmupMs: number;
  /** Measured window per scenario, ms. */
  durationMs: number;
  /** One per scenario run. */
  results: ScenarioResult[];
  /** Client-mode start-up timings. */
  startup: StartupResult[];
}

/** Describes this machine, for the record. */
export async function machineInfo(): Promise<MachineInfo> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const node = await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "?");
  const release = Deno.osRelease();
  return {
    date: new Date().toISOString(),
    os: `${Deno.build.os} ${release} ${Deno.build.arch}`,
    cpu: cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "?",
    cores: navigator.hardwareConcurrency,
    runtimes: `Deno ${Deno.version.deno}, Node ${node}`,
    loadBefore: loadAverage(),
  };
}

/** The 1-minute load average. */
export function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined || Number.isNaN(value) ? "—" : value.toFixed(digits);

/** The median of `values`; `NaN` when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A Markdown table (readable as plain text too). */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w, i) => i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/** The main table: one row per scenario. */
export function figuresTable(results: ScenarioResult[]): string {
  const header = [
    "system",
    "transport",
    "clients",
    "calls/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "idle RSS MiB",
    "peak RSS MiB",
    "CPU ms/call",
    "proxy CPU %",
    "server CPU %",
    "bench CPU %",
    "start ms",
  ];
  const rows = results.map((r) => [
    SYSTEM_NAMES[r.scenario.system],
    SHAPE_NAMES[r.scenario.shape],
    String(r.scenario.clients),
    r.error ? "FAILED" : fixed(r.load?.callsPerSecond, 0),
    fixed(r.load?.p50Ms, 2),
    fixed(r.load?.p99Ms, 2),
    r.load ? String(r.load.errors) : "—",
    fixed(r.idleRssMb, 1),
    fixed(r.peakRssMb, 1),
    fixed(r.cpuMsPerCall, 3),
    fixed(r.proxyCpuPercent, 0),
    fixed(r.serverCpuPercent, 0),
    fixed(r.loadCpuPercent, 0),
    fixed(r.startMs, 0),
  ]);
  return markdownTable(header, rows);
}

/** A comparison of our figure with a reference figure, against an optional target. */
interface Comparison {
  label: string;
  ours: string;
  /** Candidates; the best one (by `better`) is the reference. */
  references: string[];
  metric: (r: ScenarioResult) => number | undefined;
  unit: string;
  better: "higher" | "lower";
  /** Our figure ÷ the reference must be ≥ this (higher is better) or ≤ this (lower). */
  target?: number;
}

const callsPerSecond = (r: ScenarioResult) => r.load?.callsPerSecond;
const idleRss = (r: ScenarioResult) => r.idleRssMb;
const PEERS: System[] = ["supergateway", "mcp-proxy"];
const peerIds = (suffix: string) => PEERS.map((p) => `${p}-${suffix}`);

/** The issue's targets, and other ratios worth watching. */
const COMPARISONS: Comparison[] = [
  {
    label: "server /mcp, 8 clients vs best peer",
    ours: "ours-mcp-c8",
    references: peerIds("mcp-c8"),
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
    target: 1.5,
  },
  {
    label: "server /mcp, 1 client vs best peer",
    ours: "ours-mcp-c1",
    references: peerIds("mcp-c1"),
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
  },
  {
    label: "server /sse, 1 client vs best peer",
    ours: "ours-sse-c1",
    references: peerIds("sse-c1"),
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
  },
  {
    label: "client mode vs supergateway",
    ours: "ours-client-c1",
    references: ["supergateway-client-c1"],
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
    target: 1.5,
  },
  {
    label: "client mode vs direct Streamable HTTP",
    ours: "ours-client-c1",
    references: ["direct-http-c1"],
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
    target: 0.9,
  },
  {
    label: "server /mcp, 1 client vs direct Streamable HTTP",
    ours: "ours-mcp-c1",
    references: ["direct-http-c1"],
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
  },
  {
    label: "server /mcp, 8 clients vs direct Streamable HTTP",
    ours: "ours-mcp-c8",
    references: ["direct-http-c8"],
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
  },
  {
    label: "server /mcp, 1 client vs direct stdio",
    ours: "ours-mcp-c1",
    references: ["direct-stdio-c1"],
    metric: callsPerSecond,
    unit: "calls/s",
    better: "higher",
  },
  {
    label: "idle RSS, server mode (1 session) vs smallest peer",
    ours: "ours-mcp-c1",
    references: peerIds("mcp-c1"),
    metric: idleRss,
    unit: "MiB",
    better: "lower",
    target: 1.0,
  },
  {
    label: "idle RSS, client mode vs supergateway",
    ours: "ours-client-c1",
    references: ["supergateway-client-c1"],
    metric: idleRss,
    unit: "MiB",
    better: "lower",
    target: 1.0,
  },
  {
    label: "peak RSS, server /mcp 8 clients vs smallest peer",
    ours: "ours-mcp-c8",
    references: peerIds("mcp-c8"),
    metric: (r) => r.peakRssMb,
    unit: "MiB",
    better: "lower",
  },
];

/** The ratios table: ours ÷ reference, with the target and whether it is met. */
export function ratiosTable(report: BenchReport): string {
  const byId = new Map(report.results.map((r) => [r.scenario.id, r]));
  const rows: string[][] = [];
  const add = (
    label: string,
    ours: number | undefined,
    ref: { name: string; value: number } | undefined,
    unit: string,
    better: "higher" | "lower",
    target?: number,
  ) => {
    if (ours === undefined || Number.isNaN(ours) || !ref) return;
    const ratio = ours / ref.value;
    const met = target === undefined
      ? ""
      : (better === "higher" ? ratio >= target : ratio <= target)
      ? "yes"
      : "NO";
    const digits = unit === "calls/s" ? 0 : 1;
    rows.push([
      label,
      `${ours.toFixed(digits)} ${unit}`,
      `${ref.value.toFixed(digits)} ${unit} (${ref.name})`,
      `${ratio.toFixed(2)}x`,
      target === undefined ? "" : `${better === "higher" ? "≥" : "≤"} ${target}x`,
      met,
    ]);
  };
  for (const c of COMPARISONS) {
    const ours = byId.get(c.ours);
    const candidates = c.references.flatMap((id) => {
      const r = byId.get(id);
      const value = r && !r.error ? c.metric(r) : undefined;
      return value === undefined || Number.isNaN(value) || value <= 0
        ? []
        : [{ name: SYSTEM_NAMES[r!.scenario.system], value }];
    });
    candidates.sort((a, b) => c.better === "higher" ? b.value - a.value : a.value - b.value);
    add(
      c.label,
      ours && !ours.error ? c.metric(ours) : undefined,
      candidates[0],
      c.unit,
      c.better,
      c.target,
    );
  }
  const startup = new Map(report.startup.map((s) => [s.system, median(s.samplesMs)]));
  const sg = startup.get("supergateway");
  add(
    "client mode start-up (median) vs supergateway",
    startup.get("ours"),
    sg === undefined || Number.isNaN(sg) ? undefined : { name: "supergateway", value: sg },
    "ms",
    "lower",
  );
  return markdownTable(["comparison", "ours", "reference", "ratio", "target", "met"], rows);
}

/** The start-up table. */
export function startupTable(startup: StartupResult[]): string {
  return markdownTable(
    ["client mode, spawn → initialize result", "median ms", "min ms", "max ms", "runs"],
    startup.map((s) => [
      s.error ? `${SYSTEM_NAMES[s.system]} (FAILED)` : SYSTEM_NAMES[s.system],
      fixed(median(s.samplesMs), 0),
      fixed(Math.min(...s.samplesMs), 0),
      fixed(Math.max(...s.samplesMs), 0),
      String(s.samplesMs.length),
    ]),
  );
}

/** The whole report as Markdown. */
export function renderReport(report: BenchReport): string {
  const m = report.machine;
  const failures = report.results.filter((r) => r.error || r.load?.firstError);
  return [
    `## mcp-proxy benchmark, ${m.date.slice(0, 16).replace("T", " ")} UTC`,
    "",
    `Machine: ${m.os}, ${m.cores} cores (${m.cpu}); ${m.runtimes}. ` +
    `Load average ${fixed(m.loadBefore, 2)} before, ${fixed(m.loadAfter, 2)} after. ` +
    `Each scenario: ${report.warmupMs / 1000} s warm-up, ${report.durationMs / 1000} s measured; ` +
    `SDK clients calling tools/call echo in a closed loop.`,
    "",
    figuresTable(report.results),
    "",
    ...(report.startup.length === 0 ? [] : [startupTable(report.startup), ""]),
    ratiosTable(report),
    ...(failures.length === 0 ? [] : [
      "",
      "Failures:",
      ...failures.map((r) =>
        `- ${r.scenario.id}: ${
          (r.error ?? r.load?.firstError ?? "").split("\n").slice(0, 6).join(" / ")
        }`
      ),
    ]),
  ].join("\n");
}
