/**
 * The lean benchmark's table: each figure as the median over rounds (with its range), and
 * ours ÷ the baseline as the median of the per-round ratios (each round measures both within
 * seconds of each other, so the ratio is steadier than either figure).
 * @module
 */
import { type MachineInfo, markdownTable, median } from "../report.ts";
import type { LeanOptions, LevelResult, RunResult } from "./run.ts";
import type { LeanShape, LeanSystem } from "./systems.ts";

/** Display names of the shapes. */
export const LEAN_SHAPE_NAMES: Record<LeanShape, string> = {
  "mcp-legacy": "/mcp legacy era",
  "mcp-modern": "/mcp modern era",
  sse: "/sse",
  client: "client mode",
};

type RunKey = `${LeanSystem}-${LeanShape}`;
/** A figure of one run in one round; `undefined` when not measured. */
type Metric = (run: RunResult) => number | undefined;

/** What each shape of ours is compared with. */
const BASELINES: Array<{ shape: LeanShape; against: RunKey; label: string }> = [
  { shape: "mcp-legacy", against: "minimal-mcp-legacy", label: "minimal relay" },
  // What the protocol's header checks cost any relay: the floor the CPU target sits on.
  { shape: "mcp-legacy", against: "checked-mcp-legacy", label: "minimal relay with checks" },
  { shape: "mcp-modern", against: "minimal-mcp-modern", label: "minimal relay" },
  { shape: "sse", against: "minimal-mcp-legacy", label: "minimal relay /mcp" },
  { shape: "sse", against: "ours-mcp-legacy", label: "our own /mcp" },
  { shape: "mcp-modern", against: "ours-mcp-legacy", label: "our own legacy /mcp" },
  { shape: "client", against: "minimal-client", label: "minimal client relay" },
  // Only with `--old`: ours against an older build of ours, change by change.
  { shape: "mcp-legacy", against: "old-mcp-legacy", label: "the older build" },
  { shape: "mcp-modern", against: "old-mcp-modern", label: "the older build" },
  { shape: "sse", against: "old-sse", label: "the older build" },
  { shape: "client", against: "old-client", label: "the older build" },
];

const level = (inFlight: number, pick: (l: LevelResult) => number): Metric => (run) => {
  const found = run.levels.find((l) => l.inFlight === inFlight);
  return found ? pick(found) : undefined;
};

const thousands = (value: number) => Math.round(value).toLocaleString("en-US");
const oneDecimal = (value: number) => value.toFixed(1);

/** The comparison table (Markdown) and notes on failed or unsupported runs. */
export function leanTable(results: RunResult[], inFlight: number[]): string {
  const byKey = new Map<RunKey, RunResult[]>();
  for (const result of results) {
    const key: RunKey = `${result.system}-${result.shape}`;
    byKey.set(key, [...(byKey.get(key) ?? []), result]);
  }
  const rows: string[][] = [];
  const most = Math.max(...inFlight);
  for (const { shape, against, label } of BASELINES) {
    const ours = byKey.get(`ours-${shape}`);
    const baseline = byKey.get(against);
    if (!ours || !baseline) continue;
    const name = `${LEAN_SHAPE_NAMES[shape]} vs ${label}`;
    const row = (what: string, metric: Metric, format: (v: number) => string) => {
      rows.push([`${name}: ${what}`, ...compare(ours, baseline, metric, format)]);
    };
    for (const n of inFlight) {
      row(`calls/s, ${n} in flight`, level(n, (l) => l.callsPerSecond), thousands);
    }
    for (const n of inFlight) {
      row(`CPU µs per call, ${n} in flight`, level(n, (l) => l.cpuUsPerCall), oneDecimal);
    }
    // Memory and start-up: once per baseline of another kind.
    if (against.startsWith("ours") || against.startsWith("checked")) continue;
    row(`RSS MiB under ${most} in flight`, level(most, (l) => l.rssMb), oneDecimal);
    row("idle RSS MiB", (r) => r.idleRssMb, oneDecimal);
    row("start-up to first answer, ms", (r) => r.startupMs, thousands);
  }
  const notes = results.filter((r) => r.error || r.unsupported).map((r) =>
    `- round ${r.round}, ${r.system} ${LEAN_SHAPE_NAMES[r.shape]}: ${
      r.unsupported
        ? `unsupported (${r.unsupported.slice(0, 200)})`
        : `FAILED: ${r.error!.split("\n").slice(0, 4).join(" / ")}`
    }`
  );
  const unique = [...new Set(notes.map((n) => n.replace(/^- round \d+, /, "- ")))];
  return [
    markdownTable(["", "ours", "baseline", "ours / baseline"], rows),
    ...(unique.length ? ["", ...unique] : []),
  ].join("\n");
}

/** Cells for ours, the baseline and their ratio: medians over rounds, with ranges. */
function compare(
  ours: RunResult[],
  baseline: RunResult[],
  metric: Metric,
  format: (v: number) => string,
): [string, string, string] {
  const ratios: number[] = [];
  for (const run of ours) {
    const paired = baseline.find((b) => b.round === run.round);
    const a = measured(run, metric), b = paired && measured(paired, metric);
    if (a !== undefined && b !== undefined && b > 0) ratios.push(a / b);
  }
  const cell = (runs: RunResult[]) => {
    if (runs.length && runs.every((r) => r.unsupported)) return "unsupported";
    return spread(runs.flatMap((r) => measured(r, metric) ?? []), format);
  };
  return [cell(ours), cell(baseline), spread(ratios, (v) => v.toFixed(2))];
}

function measured(run: RunResult, metric: Metric): number | undefined {
  if (run.error || run.unsupported) return undefined;
  const value = metric(run);
  return value === undefined || !Number.isFinite(value) ? undefined : value;
}

/** `median (min–max)`, or `—` when there is nothing. */
export function spread(values: number[], format: (v: number) => string): string {
  if (values.length === 0) return "—";
  const low = Math.min(...values), high = Math.max(...values);
  const range = values.length > 1 ? ` (${format(low)}–${format(high)})` : "";
  return `${format(median(values))}${range}`;
}

/** The whole lean report as Markdown: when, where, how (the `command`), and the table. */
export function renderLeanReport(
  machine: MachineInfo,
  options: LeanOptions,
  command: string,
  results: RunResult[],
): string {
  const load = (value: number | undefined) => value === undefined ? "?" : value.toFixed(2);
  return [
    `## mcp-proxy lean benchmark, ${machine.date.slice(0, 16).replace("T", " ")} UTC`,
    "",
    `\`${command.trim()}\`: ${options.rounds} interleaved rounds; ` +
    `${options.inFlight.join(", ")} calls in flight over up to ${options.sessions} sessions; ` +
    `${options.warmupMs / 1000} s warm-up and ${options.durationMs / 1000} s measured per level. ` +
    `Machine: ${machine.os}, ${machine.cores} cores (${machine.cpu}); ${machine.runtimes}; ` +
    `load average ${load(machine.loadBefore)} before, ${load(machine.loadAfter)} after. ` +
    "Medians over rounds (min–max); CPU and RSS are the proxy or relay process alone.",
    "",
    leanTable(results, options.inFlight),
  ].join("\n");
}
