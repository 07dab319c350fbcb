/**
 * The metrics mcp-proxy exposes at `/metrics` (`--metrics`): their names, help and labels, and
 * the few operations its parts call. Labels are bounded: server names come from the
 * configuration, methods from the MCP specification (others count as `other`), tool names only
 * from the server's own `tools/list`, and never a session id or an argument.
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

/** How a child process ended, as the exits counter labels it. */
export type ExitCause = "stopped" | "exit" | "error" | "signal" | "start_failed";

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

/** The HTTP counters of one server and route, looked up once per request. */
export class RouteTraffic {
  /** Request body bytes. */
  readonly received: Counter;
  /** Response body bytes. */
  readonly sent: Counter;
  readonly #answers: Family<Counter>;
  readonly #byStatus = new Map<number, Counter>();
  readonly #server: string;
  readonly #route: string;

  /** The counters of `route` on `server`. */
  constructor(families: HttpFamilies, server: string, route: string) {
    this.received = families.received.with(server, route);
    this.sent = families.sent.with(server, route);
    this.#answers = families.requests;
    this.#server = server;
    this.#route = route;
  }

  /** Counts a request answered with `status`. */
  answered(status: number): void {
    let counter = this.#byStatus.get(status);
    if (!counter) {
      counter = this.#answers.with(this.#server, this.#route, String(status));
      this.#byStatus.set(status, counter);
    }
    counter.inc();
  }
}

/** The families of the HTTP metrics. */
interface HttpFamilies {
  readonly requests: Family<Counter>;
  readonly received: Family<Counter>;
  readonly sent: Family<Counter>;
}

/** The child process counters of one server. */
export interface ChildCounters {
  /** Processes started. */
  readonly starts: Counter;
  /** Starts after an end (a crash, an exit or a failed start). */
  readonly restarts: Counter;
  /** Ends by cause. */
  exited(cause: ExitCause): void;
}

/** Every metric of the proxy, registered at once. */
export class ProxyMetrics {
  /** Where they are registered: `expose()` gives the text of `/metrics`. */
  readonly registry = new Registry();
  readonly #calls: CallFamilies;
  readonly #series = new Map<string, Map<string, CallSeries>>();
  readonly #tools = new Map<string, Set<string>>();
  readonly #http: HttpFamilies;
  readonly #traffic = new Map<string, RouteTraffic>();
  readonly #starts: Family<Counter>;
  readonly #restarts: Family<Counter>;
  readonly #exits: Family<Counter>;
  readonly #refused: Family<Counter>;
  /** Event streams open (legacy `/sse`, Streamable HTTP GET streams and streamed answers). */
  readonly sseStreams: Gauge;
  /** Event streams dropped because their client stopped reading. */
  readonly sseDropped: Counter;
  /** The bytes those streams had left unread, let go with them. */
  readonly sseDroppedBytes: Counter;

  /** Registers every metric. */
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
    this.#http = {
      requests: r.counter(
        "mcp_proxy_http_requests_total",
        "HTTP requests answered, by server, route and status.",
        ["server", "route", "status"],
      ),
      received: r.counter(
        "mcp_proxy_http_received_bytes_total",
        "Request body bytes received (as their Content-Length declares), by server and route.",
        ["server", "route"],
      ),
      sent: r.counter(
        "mcp_proxy_http_sent_bytes_total",
        "Response body bytes sent (JSON answers and event streams), by server and route.",
        ["server", "route"],
      ),
    };
    this.sseStreams = r.gauge(
      "mcp_proxy_sse_streams_open",
      "Event streams open: /sse, Streamable HTTP GET streams and answers sent as streams.",
    ).with();
    this.sseDropped = r.counter(
      "mcp_proxy_sse_dropped_streams_total",
      "Event streams dropped because their client left too much unread.",
    ).with();
    this.sseDroppedBytes = r.counter(
      "mcp_proxy_sse_dropped_bytes_total",
      "Bytes the dropped event streams had left unread.",
    ).with();
    this.#refused = r.counter(
      "mcp_proxy_connections_refused_total",
      "HTTP connections and exchanges refused with 503 at the --max-connections cap.",
      ["reason"],
    );
    this.#starts = r.counter(
      "mcp_proxy_child_starts_total",
      "Child processes started, by server.",
      ["server"],
    );
    this.#restarts = r.counter(
      "mcp_proxy_child_restarts_total",
      "Child processes started again after one ended or failed to start, by server.",
      ["server"],
    );
    this.#exits = r.counter(
      "mcp_proxy_child_exits_total",
      "Child processes ended, by server and cause (stopped, exit, error, signal, start_failed).",
      ["server", "cause"],
    );
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

  /** The HTTP counters of `route` on `server`. */
  traffic(server: string, route: string): RouteTraffic {
    const key = `${server}\u0000${route}`;
    let traffic = this.#traffic.get(key);
    if (!traffic) {
      traffic = new RouteTraffic(this.#http, server, route);
      this.#traffic.set(key, traffic);
    }
    return traffic;
  }

  /** Counts a connection (`connection`) or an HTTP/2 exchange (`exchange`) refused at the cap. */
  refused(reason: "connection" | "exchange"): void {
    this.#refused.with(reason).inc();
  }

  /** The child process counters of `server`. */
  children(server: string): ChildCounters {
    const exits = this.#exits;
    return {
      starts: this.#starts.with(server),
      restarts: this.#restarts.with(server),
      exited: (cause) => exits.with(server, cause).inc(),
    };
  }

  /**
   * Registers the gauges of open sessions, read at each scrape from `sample`: each server's
   * count by transport (`sse`, `streamable_http`).
   */
  sessions(sample: () => Iterable<readonly [server: string, transport: string, open: number]>) {
    this.registry.sampled({
      name: "mcp_proxy_sessions_open",
      help: "Client sessions open, by server and transport (sse, streamable_http).",
      type: "gauge",
      labelNames: ["server", "transport"],
      sample: function* () {
        for (const [server, transport, open] of sample()) yield [[server, transport], open];
      },
    });
  }
}
