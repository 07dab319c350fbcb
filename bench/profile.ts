/**
 * CPU profiling of our proxy during the measured window, through the V8 inspector
 * (`deno run --inspect`; Deno has no `--cpu-prof`): the profile is saved as a `.cpuprofile`
 * (open it in Chrome DevTools or speedscope) and summarised as text.
 * @module
 */

/** A V8 CPU profile (`Profiler.stop` result), the `.cpuprofile` format. */
export interface CpuProfile {
  /** Call-tree nodes. */
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
    children?: number[];
  }>;
  /** Start time, µs. */
  startTime: number;
  /** End time, µs. */
  endTime: number;
  /** Node id of each sample. */
  samples?: number[];
  /** Time before each sample, µs. */
  timeDeltas?: number[];
}

/** A minimal Chrome DevTools Protocol session for the Profiler domain. */
export class Profiler {
  #socket: WebSocket;
  #nextId = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      if (message.error) pending.reject(new Error(JSON.stringify(message.error)));
      else pending.resolve(message.result);
    };
  }

  /**
   * Connects to the inspector on 127.0.0.1:`port` (its WebSocket URL comes from `/json/list`;
   * `deno run --quiet` does not print it) and enables the profiler with 100 µs sampling.
   */
  static async attach(port: number): Promise<Profiler> {
    const targets = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json());
    const url: string = targets[0].webSocketDebuggerUrl;
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`cannot reach the inspector at ${url}`));
    });
    const profiler = new Profiler(socket);
    await profiler.#call("Profiler.enable");
    await profiler.#call("Profiler.setSamplingInterval", { interval: 100 });
    return profiler;
  }

  /** Starts sampling. */
  async start(): Promise<void> {
    await this.#call("Profiler.start");
  }

  /** Stops sampling and returns the profile. */
  async stop(): Promise<CpuProfile> {
    const result = await this.#call("Profiler.stop") as { profile: CpuProfile };
    return result.profile;
  }

  /** Closes the inspector session. */
  close(): void {
    this.#socket.close();
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ id, method, params }));
    });
  }
}

/** The origin of work done only because a profiler is attached; left out of "busy". */
export const PROFILER_OVERHEAD = "(profiler overhead)";

/** Where a function comes from, for grouping: an npm package, our `src/` tree, or V8 itself. */
export function origin(url: string, functionName: string): string {
  // With an inspector attached, Deno reports every fetch to it: the profiler's own cost.
  if (url.includes("inspector_network_bridge") || functionName.startsWith("op_inspector_")) {
    return PROFILER_OVERHEAD;
  }
  if (!url) return functionName.startsWith("(") ? functionName : "(native/runtime)";
  const npm = url.match(/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\/([^/]+)\//);
  if (npm) return `npm:${npm[1]}@${npm[2]}`;
  const ours = url.match(/\/(src\/.*|main\.ts)$/);
  if (ours) return ours[1];
  if (url.startsWith("ext:") || url.startsWith("node:")) {
    return url.split("/").slice(0, 2).join("/");
  }
  return url;
}

/** Self and total (inclusive) time of one function, ms. */
interface Cost {
  selfMs: number;
  totalMs: number;
}

/**
 * A text summary of a profile: self time by origin (package, file, runtime), the top
 * functions by self time, and our `src/` functions by inclusive time; with the number of
 * `calls` in the window, each figure also in µs per call.
 */
export function summarize(profile: CpuProfile, top = 20, calls?: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the delta to the next one.
    const us = deltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + us);
  }
  const totalUs = (profile.endTime - profile.startTime) || 1;
  const idle = new Set(["(idle)", "(program)", PROFILER_OVERHEAD]);

  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, Cost>();
  const key = (n: CpuProfile["nodes"][number]) =>
    `${n.callFrame.functionName || "(anonymous)"} ${
      origin(n.callFrame.url, n.callFrame.functionName)
    }:${n.callFrame.lineNumber + 1}`;
  // Inclusive time: walk the tree, counting a function once per stack (recursion).
  const walk = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id)!;
    const k = key(node);
    let total = selfUs.get(id) ?? 0;
    const fresh = !onStack.has(k);
    if (fresh) onStack.add(k);
    for (const child of node.children ?? []) total += walk(child, onStack);
    if (fresh) onStack.delete(k);
    const cost = byFunction.get(k) ?? { selfMs: 0, totalMs: 0 };
    cost.selfMs += (selfUs.get(id) ?? 0) / 1000;
    if (fresh) cost.totalMs += total / 1000;
    byFunction.set(k, cost);
    const o = origin(node.callFrame.url, node.callFrame.functionName);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + (selfUs.get(id) ?? 0) / 1000);
    return total;
  };
  walk(profile.nodes[0].id, new Set());

  const busyMs = [...byOrigin].filter(([o]) => !idle.has(o)).reduce((a, [, ms]) => a + ms, 0);
  const perCall = (ms: number) =>
    calls ? ` ${((ms * 1000) / calls).toFixed(1).padStart(6)} µs/call` : "";
  const pct = (ms: number) =>
    `${((ms / (busyMs || 1)) * 100).toFixed(1).padStart(5)}%${perCall(ms)}`;
  const lines = [
    `window ${(totalUs / 1000).toFixed(0)} ms, busy ${busyMs.toFixed(0)} ms ` +
    `(not idle, program, or ${PROFILER_OVERHEAD} ${
      (byOrigin.get(PROFILER_OVERHEAD) ?? 0).toFixed(0)
    } ms)` + (calls ? `; ${calls} calls, busy ${perCall(busyMs).trim()}` : ""),
    "",
    "self time by origin (% of busy):",
    ...[...byOrigin].filter(([o]) => !idle.has(o)).sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([o, ms]) => `  ${pct(ms)} ${ms.toFixed(0).padStart(6)} ms  ${o}`),
    "",
    "top functions by self time:",
    ...[...byFunction].filter(([k]) => ![...idle].some((name) => k.includes(name)))
      .sort((a, b) => b[1].selfMs - a[1].selfMs).slice(0, top)
      .map(([k, c]) => `  ${pct(c.selfMs)} ${c.selfMs.toFixed(0).padStart(6)} ms  ${k}`),
    "",
    "our src/ functions by inclusive time:",
    ...[...byFunction].filter(([k]) => / (src\/|main\.ts)/.test(k))
      .sort((a, b) => b[1].totalMs - a[1].totalMs).slice(0, top)
      .map(([k, c]) => `  ${pct(c.totalMs)} ${c.totalMs.toFixed(0).padStart(6)} ms  ${k}`),
  ];
  return lines.join("\n");
}

/** Writes `profile` to `dir/name.cpuprofile` and its {@linkcode summarize} to `dir/name.txt`. */
export async function saveProfile(
  dir: string,
  name: string,
  profile: CpuProfile,
  calls?: number,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
  await Deno.writeTextFile(`${dir}/${name}.txt`, summarize(profile, 20, calls) + "\n");
  console.error(`profile of ${name}: ${dir}/${name}.{cpuprofile,txt}`);
}
