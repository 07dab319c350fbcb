/**
 * The metrics server mode exposes at `/metrics` (`--metrics`) besides the call metrics: HTTP
 * traffic by server and route, sessions and event streams, children, the connection cap. Labels
 * are bounded: server names come from the configuration, routes are the proxy's own, and never
 * a session id or an argument.
 * @module
 */
import { CallMetrics } from "./call_metrics.ts";
import type { Counter, Family, Gauge } from "./metrics.ts";

/** How a child process ended, as the exits counter labels it. */
export type ExitCause = "stopped" | "exit" | "error" | "signal" | "start_failed";

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

/** Every metric of server mode, registered at once. */
export class ProxyMetrics extends CallMetrics {
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
    super();
    const r = this.registry;
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
