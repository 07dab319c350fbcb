/**
 * Scale-out under load: legacy Streamable HTTP sessions (plain `fetch`, like the lean clients)
 * opened all at once, then `--calls` echo calls each, `--in-flight` at a time over all of them,
 * against one instance spoken to directly, three instances behind HAProxy routing by instance
 * (deploy/haproxy.cfg), and three behind plain round robin whose instances forward to each other
 * (deploy/haproxy-round-robin.cfg, `--peer-url`). Every answer is checked for its request's id
 * and for its session's own marker (the echoed text), so that a call lost or answered for
 * another session fails the run. Reported: calls/s, the median call, CPU per call of the
 * instances together and of the balancer, how the sessions spread; then three instances behind
 * HAProxy against one direct, and the forwarding hop (round robin sends 2 calls of 3 to an
 * instance that forwards them) per forwarded call.
 *
 * Run: `deno run -A bench/lean/scale_out_load.ts [--sessions N] [--calls N] [--in-flight N]
 * [--rounds N]` (needs haproxy; `MCP_PROXY_BIN` measures a built binary instead of main.ts).
 * @module
 */
import { parseArgs } from "node:util";
import {
  type BalancerKind,
  instanceOfSession,
  type ProxyInstance,
  startBalancer,
  startInstances,
  stopInstances,
} from "../../tests/support/load_balancer.ts";
import { readCpuMs } from "../process.ts";
import { markdownTable, median } from "../report.ts";
import {
  checkAnswer,
  INITIALIZE_PARAMS,
  LEGACY_VERSION,
  POST_HEADERS,
  readAnswer,
  requestLine,
} from "./clients.ts";
import { spread } from "./report.ts";

/** The setups measured, in order. */
export const SETUPS = ["direct", "haproxy", "haproxy-round-robin"] as const;
/** One of {@linkcode SETUPS}. */
export type Setup = typeof SETUPS[number];

const LABELS: Record<Setup, string> = {
  direct: "one instance, direct",
  haproxy: "3 instances, HAProxy by instance",
  "haproxy-round-robin": "3 instances, HAProxy round robin + --peer-url",
};

/** How big a run is. */
export interface LoadOptions {
  /** Sessions, all open during the calls. */
  readonly sessions: number;
  /** Calls per session. */
  readonly calls: number;
  /** Calls in flight at once, over all sessions. */
  readonly inFlight: number;
}

/** What one setup measured in one round. */
export interface SetupFigures {
  /** Calls answered per second in the calls window. */
  readonly callsPerSecond: number;
  /** The median call, ms. */
  readonly p50Ms: number;
  /** CPU of the instances (not their children) per call, µs. */
  readonly instanceCpuUs: number;
  /** CPU of the balancer per call, µs (0 without one). */
  readonly balancerCpuUs: number;
  /** Sessions per instance, in the instances' order. */
  readonly spread: readonly number[];
}

/** One legacy session: its URL, headers (session id included) and marker. */
interface Session {
  readonly headers: Record<string, string>;
  readonly marker: string;
  readonly instance: string | undefined;
}

/** Runs `work(i)` for i in [0, count), `width` at a time. */
async function pool(count: number, width: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, count) }, async () => {
    while (next < count) await work(next++);
  }));
}

/** Opens a legacy session on `url` (`initialize`, `notifications/initialized`). */
async function openSession(url: string, marker: string): Promise<Session> {
  const headers: Record<string, string> = { ...POST_HEADERS };
  const body = requestLine(0, "initialize", INITIALIZE_PARAMS);
  const response = await fetch(url, { method: "POST", headers, body });
  checkAnswer(await readAnswer(response, 0, "initialize"), 0, "initialize");
  const id = response.headers.get("mcp-session-id");
  if (!id) throw new Error("initialize: no Mcp-Session-Id");
  Object.assign(headers, { "mcp-session-id": id, "mcp-protocol-version": LEGACY_VERSION });
  const initialized = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
  });
  await initialized.body?.cancel();
  if (!initialized.ok) throw new Error(`notifications/initialized: HTTP ${initialized.status}`);
  return { headers, marker, instance: instanceOfSession(id) };
}

/** Call `n` of `session`: an echo of its marker, checked for the id and the text. */
async function call(url: string, session: Session, n: number): Promise<void> {
  const id = n + 1;
  const text = `${session.marker}:${n}`;
  const body = requestLine(id, "tools/call", { name: "echo", arguments: { text } });
  const what = `call ${n} of ${session.marker}`;
  const answer = await readAnswer(
    await fetch(url, { method: "POST", headers: session.headers, body }),
    id,
    what,
  );
  checkAnswer(answer, id, what);
  const echoed = (answer.result as { content?: { text?: string }[] }).content?.[0]?.text;
  if (echoed !== text) throw new Error(`${what}: answered "${echoed}", another session's?`);
}

/** Sessions and calls on `url`, the CPU of `instances` and of `balancerPid` measured. */
export async function loadRun(
  url: string,
  instances: readonly ProxyInstance[],
  balancerPid: number | undefined,
  options: LoadOptions,
): Promise<SetupFigures> {
  const run = crypto.randomUUID().slice(0, 8);
  const sessions: Session[] = new Array(options.sessions);
  await pool(options.sessions, options.inFlight, async (i) => {
    sessions[i] = await openSession(url, `${run}-s${i}`);
  });
  const cpu = () => [
    instances.reduce((sum, { process }) => sum + (readCpuMs(process.child.pid) ?? NaN), 0),
    balancerPid === undefined ? 0 : readCpuMs(balancerPid) ?? NaN,
  ];
  const times: number[] = [];
  const total = options.sessions * options.calls;
  const [instancesBefore, balancerBefore] = cpu();
  const start = performance.now();
  // Call n of every session before call n + 1 of any: all sessions stay busy throughout.
  await pool(total, options.inFlight, async (task) => {
    const began = performance.now();
    await call(url, sessions[task % options.sessions], Math.floor(task / options.sessions));
    times.push(performance.now() - began);
  });
  const seconds = (performance.now() - start) / 1000;
  const [instancesAfter, balancerAfter] = cpu();
  await pool(options.sessions, options.inFlight, async (i) => {
    const response = await fetch(url, { method: "DELETE", headers: sessions[i].headers });
    await response.body?.cancel();
  });
  return {
    callsPerSecond: total / seconds,
    p50Ms: median(times),
    instanceCpuUs: (instancesAfter - instancesBefore) * 1000 / total,
    balancerCpuUs: (balancerAfter - balancerBefore) * 1000 / total,
    spread: instances.map(({ id }) =>
      instances.length === 1
        ? sessions.length
        : sessions.filter((session) => session.instance === id).length
    ),
  };
}

/** Starts `setup`, runs the load through it, stops it. */
export async function measureSetup(setup: Setup, options: LoadOptions): Promise<SetupFigures> {
  const instances = await startInstances(setup === "direct" ? 1 : 3, {
    forward: setup === "haproxy-round-robin",
  });
  try {
    if (setup === "direct") {
      return await loadRun(`${instances[0].base}/mcp`, instances, undefined, options);
    }
    const balancer = await startBalancer(setup as BalancerKind, instances);
    try {
      const figures = await loadRun(
        `${balancer.base}/mcp`,
        instances,
        balancer.process.child.pid,
        options,
      );
      // Routed or forwarded, every instance holds a share of the sessions.
      if (figures.spread.some((count) => count === 0)) {
        throw new Error(`${setup}: sessions per instance ${figures.spread}`);
      }
      return figures;
    } finally {
      await balancer.dispose();
    }
  } finally {
    await stopInstances(instances);
  }
}

/** Every setup, `rounds` times (the order turning each round). */
export async function measureScaleOut(
  options: LoadOptions,
  rounds: number,
): Promise<Record<Setup, SetupFigures[]>> {
  const figures: Record<Setup, SetupFigures[]> = {
    direct: [],
    haproxy: [],
    "haproxy-round-robin": [],
  };
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < SETUPS.length; i++) {
      const setup = SETUPS[(i + round) % SETUPS.length];
      figures[setup].push(await measureSetup(setup, options));
    }
  }
  return figures;
}

/** The report: one row per setup, then the two comparisons. */
export function scaleOutReport(
  figures: Record<Setup, SetupFigures[]>,
  options: LoadOptions,
): string {
  const of = (setup: Setup, pick: (f: SetupFigures) => number) => figures[setup].map(pick);
  const fixed = (digits: number) => (v: number) => v.toFixed(digits);
  const rows = SETUPS.map((setup) => [
    LABELS[setup],
    spread(of(setup, (f) => f.callsPerSecond), fixed(0)),
    spread(of(setup, (f) => f.p50Ms), fixed(2)),
    spread(of(setup, (f) => f.instanceCpuUs), fixed(0)),
    spread(of(setup, (f) => f.balancerCpuUs), fixed(0)),
    figures[setup].at(-1)!.spread.join(" / "),
  ]);
  const ratio = of("haproxy", (f) => f.callsPerSecond).map((v, i) =>
    v / figures.direct[i].callsPerSecond
  );
  // Round robin over three instances sends two calls of three to one that forwards them.
  const forwarded = 2 / 3;
  const hopCpu = of("haproxy-round-robin", (f) => f.instanceCpuUs).map((v, i) =>
    (v - figures.haproxy[i].instanceCpuUs) / forwarded
  );
  const hopMs = of("haproxy-round-robin", (f) => f.p50Ms).map((v, i) =>
    v - figures.haproxy[i].p50Ms
  );
  return [
    `${options.sessions} sessions × ${options.calls} calls, ${options.inFlight} in flight; ` +
    `every answer checked for its id and its session's marker`,
    "",
    markdownTable(
      [
        "setup",
        "calls/s",
        "p50 ms",
        "instances µs CPU/call",
        "balancer µs CPU/call",
        "sessions per instance",
      ],
      rows,
    ),
    "",
    `calls/s, 3 instances behind HAProxy ÷ one instance direct: ${spread(ratio, fixed(2))}`,
    `forwarding hop, per forwarded call (round robin + --peer-url vs HAProxy by instance): ` +
    `${spread(hopCpu, fixed(0))} µs CPU, ${spread(hopMs.map((v) => v / forwarded), fixed(2))} ms`,
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sessions: { type: "string", default: "1000" },
      calls: { type: "string", default: "20" },
      "in-flight": { type: "string", default: "48" },
      rounds: { type: "string", default: "1" },
    },
  });
  const options = {
    sessions: Number(values.sessions),
    calls: Number(values.calls),
    inFlight: Number(values["in-flight"]),
  };
  const figures = await measureScaleOut(options, Number(values.rounds));
  console.log(scaleOutReport(figures, options));
}
