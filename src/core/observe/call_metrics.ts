/**
 * The call metrics of either mode: calls by server, method, tool and outcome, their latency and
 * those in flight. Labels are bounded: methods come from the MCP specification (others count as
 * `other`), tool names only from the server's own `tools/list`, never a session id or an
 * argument.
 * @module
 */
import { type Counter, type Family, type Gauge, type Histogram, Registry } from "./metrics.ts";

/** Upper bounds of the call latency buckets, in seconds: 5 ms to 5 minutes (the default timeout). */
export const CALL_DURATION_BUCKETS = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
];

/** The request methods of MCP (either era) a call is labelled with; any other is `other`. */
const KNOWN_METHODS = new Set([
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "completion/complete",
  "logging/setLevel",
  "server/discover",
  "subscriptions/listen",
  "tasks/get",
  "tasks/list",
  "tasks/result",
  "tasks/cancel",
]);

/** Most tool names learned per server: a server listing more gets no tool label for the rest. */
const MAX_TOOLS_PER_SERVER = 1_000;

/** A call's outcome as its label says it. */
export type OutcomeLabel = "ok" | "error" | "timeout" | "cancelled" | "refused";

/** The series one server's calls of one method count into, looked up once per call. */
export class CallSeries {
  /** Calls of the method in flight on the server. */
  readonly inFlight: Gauge;
  /** Their latency. */
  readonly duration: Histogram;
  readonly #calls: Family<Counter>;
  /** The counters of calls without a tool label, by outcome (nearly every call's). */
  readonly #byOutcome: Partial<Record<OutcomeLabel, Counter>> = {};
  readonly #server: string;
  readonly #method: string;

  /** The series of `method` on `server`, in `families`. */
  constructor(families: CallFamilies, server: string, method: string) {
    this.inFlight = families.inFlight.with(server);
    this.duration = families.duration.with(server, method);
    this.#calls = families.calls;
    this.#server = server;
    this.#method = method;
  }

  /** Counts a call that ended with `outcome`; `tool` is its tool label ("" for none). */
  count(tool: string, outcome: OutcomeLabel): void {
    if (tool !== "") return this.#calls.with(this.#server, this.#method, tool, outcome).inc();
    (this.#byOutcome[outcome] ??= this.#calls.with(this.#server, this.#method, "", outcome)).inc();
  }
}

/** The families of the call metrics. */
interface CallFamilies {
  readonly calls: Family<Counter>;
  readonly duration: Family<Histogram>;
  readonly inFlight: Family<Gauge>;
}

/** The registry and the call metrics; each mode's metrics add theirs. */
export class CallMetrics {
  /** Where they are registered: `expose()` gives the text of `/metrics`. */
  readonly registry = new Registry();
  readonly #calls: CallFamilies;
  readonly #series = new Map<string, Map<string, CallSeries>>();
  readonly #tools = new Map<string, Set<string>>();

  /** Registers the call metrics. */
  constructor() {
    const r = this.registry;
    this.#calls = {
      calls: r.counter(
        "mcp_proxy_calls_total",
        "Requests relayed to an MCP server, by method and outcome (ok, error, timeout, " +
          "cancelled, refused); tool only for names the server listed itself.",
        ["server", "method", "tool", "outcome"],
      ),
      duration: r.histogram(
        "mcp_proxy_call_duration_seconds",
        "Time from relaying a request to its end (answer, timeout, cancellation).",
        ["server", "method"],
        CALL_DURATION_BUCKETS,
      ),
      inFlight: r.gauge(
        "mcp_proxy_calls_in_flight",
        "Requests relayed to an MCP server and not ended yet.",
        ["server"],
      ),
    };
  }

  /** The series of `method` calls on `server` (any method outside MCP's counts as `other`). */
  callSeries(server: string, method: string): CallSeries {
    let byMethod = this.#series.get(server);
    if (!byMethod) {
      byMethod = new Map();
      this.#series.set(server, byMethod);
    }
    let series = byMethod.get(method);
    if (!series) {
      const label = KNOWN_METHODS.has(method) ? method : "other";
      series = byMethod.get(label) ?? new CallSeries(this.#calls, server, label);
      // Unknown methods share `other`, and the map grows by at most the known ones and `other`.
      byMethod.set(label, series);
    }
    return series;
  }

  /** Learns the tool names of `server` from the result of its `tools/list`. */
  learnTools(server: string, result: unknown): void {
    const tools = (result as { tools?: unknown } | undefined)?.tools;
    if (!Array.isArray(tools)) return;
    let known = this.#tools.get(server);
    if (!known) {
      known = new Set();
      this.#tools.set(server, known);
    }
    for (const tool of tools) {
      const name = (tool as { name?: unknown } | null)?.name;
      if (typeof name !== "string" || known.size >= MAX_TOOLS_PER_SERVER) continue;
      known.add(name);
    }
  }

  /** The tool label of a call of tool `name` on `server`: the name if the server listed it. */
  toolLabel(server: string, name: unknown): string {
    return typeof name === "string" && this.#tools.get(server)?.has(name) ? name : "";
  }
}

/** The metrics of client mode (`--metrics-port`): the calls relayed, and reconnections. */
export class ClientMetrics extends CallMetrics {
  /** Reconnections to the remote server after its session was lost. */
  readonly upstreamReconnects: Counter;

  /** Registers every metric. */
  constructor() {
    super();
    this.upstreamReconnects = this.registry.counter(
      "mcp_proxy_upstream_reconnects_total",
      "Client mode: reconnections to the remote server after its session was lost.",
    ).with();
  }
}
