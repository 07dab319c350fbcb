/**
 * What server mode observes of each HTTP request: its counters (requests by status, bytes in
 * and out, by server and route) with `--metrics`, and a span continuing the request's
 * `traceparent` when traces are exported. The app hands every request through
 * {@linkcode AppObserver.wrap}; with neither on, the app has no observer and pays nothing.
 * @module
 */
import type { ProxyMetrics, RouteTraffic } from "../../core/observe/proxy_metrics.ts";
import { EXPOSITION_CONTENT_TYPE } from "../../core/observe/metrics.ts";
import { parseTraceparent, SpanKind, type Tracer } from "../../core/observe/trace_context.ts";
import type { ReceivedRequest } from "../../runtime/types.ts";
import { sseStreamOf } from "../http/sse_stream.ts";
import { sentBodySize } from "../http/response.ts";

/** The app's handler of one request. */
export type Handler = (received: ReceivedRequest) => Response | Promise<Response>;

/** What the sessions of a server are counted from: its session tables. */
export interface ServerEndpoints {
  /** The server. */
  readonly server: { readonly name: string };
  /** Its `/sse` sessions. */
  readonly sse: { readonly openStreams: number };
  /** Its Streamable HTTP sessions. */
  readonly http: { readonly openSessions: number };
}

/** Which server's route a request is for, as the metrics label it. */
interface RouteOf {
  /** The server's name; `""` for a path that names none (left out of the labels). */
  readonly server: string;
  /** `mcp`, `sse`, `messages`, `status`, `ready`, `metrics`, or `other`. */
  readonly route: string;
}

/** The routes below a server's prefix, by their path. */
const SERVER_ROUTES: Readonly<Record<string, string>> = {
  "/mcp": "mcp",
  "/mcp/": "mcp",
  "/sse": "sse",
  "/messages/": "messages",
};

/** The routes of the proxy itself, by their path. */
const PROXY_ROUTES: Readonly<Record<string, string>> = {
  "/status": "status",
  "/ready": "ready",
  "/metrics": "metrics",
};

const NAMED_PREFIX = "/servers/";

/** The path of `url` (an absolute URL as `Request.url` has it), without its query. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

/**
 * The server and route of `path`; `serverAt` names the server mounted under a prefix (none
 * for a prefix nobody is served under, so that the labels stay bounded).
 */
function routeOf(path: string, serverAt: (prefix: string) => string | undefined): RouteOf {
  const own = PROXY_ROUTES[path];
  if (own) return { server: "", route: own };
  let prefix = "";
  if (path.startsWith(NAMED_PREFIX)) {
    const end = path.indexOf("/", NAMED_PREFIX.length);
    if (end === -1) return { server: "", route: "other" };
    prefix = path.slice(0, end);
  }
  const route = SERVER_ROUTES[path.slice(prefix.length)];
  const server = route && serverAt(prefix);
  return server ? { server, route } : { server: "", route: "other" };
}

/** What the app reports requests to. */
export class AppObserver {
  readonly #metrics: ProxyMetrics | undefined;
  readonly #tracer: Tracer | undefined;

  /** An observer counting into `metrics` and tracing with `tracer` (either may be absent). */
  constructor(metrics: ProxyMetrics | undefined, tracer: Tracer | undefined) {
    this.#metrics = metrics;
    this.#tracer = tracer;
  }

  /** The metrics `/metrics` serves, when they are on. */
  get metrics(): ProxyMetrics | undefined {
    return this.#metrics;
  }

  /**
   * Registers the gauges of open sessions, read at each scrape from the endpoints of every
   * server (`endpoints()`; a server being replaced may have two).
   */
  countSessions(endpoints: () => Iterable<ServerEndpoints>): void {
    this.#metrics?.sessions(() => {
      const open = new Map<string, [sse: number, http: number]>();
      for (const { server, sse, http } of endpoints()) {
        const counts = open.get(server.name) ?? [0, 0];
        open.set(server.name, [counts[0] + sse.openStreams, counts[1] + http.openSessions]);
      }
      return [...open].flatMap(([server, [sse, http]]) => [
        [server, "sse", sse] as const,
        [server, "streamable_http", http] as const,
      ]);
    });
  }

  /** The answer to `GET /metrics`. */
  metricsResponse(): Response {
    return new Response(this.#metrics?.registry.expose() ?? "", {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE },
    });
  }

  /**
   * `handle` with every request observed; `serverAt` names the server mounted under a path
   * prefix (`""` or `/servers/NAME`), if any.
   */
  wrap(handle: Handler, serverAt: (prefix: string) => string | undefined): Handler {
    const metrics = this.#metrics;
    const tracer = this.#tracer;
    return (received) => {
      const { request } = received;
      const { server, route } = routeOf(pathOf(request.url), serverAt);
      const traffic = metrics?.traffic(server, route);
      if (traffic) traffic.received.inc(Number(request.headers.get("content-length")) || 0);
      const span = tracer?.startSpan(
        `${request.method} ${route}`,
        SpanKind.SERVER,
        parseTraceparent(request.headers.get("traceparent")),
        { "http.request.method": request.method, "http.route": route, "mcp_proxy.server": server },
      );
      // Calls relayed for the request become children of its span.
      const answer = span ? tracer!.within(span.context, () => handle(received)) : handle(received);
      const done = (response: Response) => {
        if (traffic) count(traffic, response);
        if (span) {
          span.setAttribute("http.response.status_code", response.status);
          span.end(response.status >= 500 ? `HTTP ${response.status}` : undefined);
        }
        return response;
      };
      return answer instanceof Promise ? answer.then(done) : done(answer);
    };
  }
}

/** Counts `response` into `traffic`: its status, and its body's bytes as they are sent. */
function count(traffic: RouteTraffic, response: Response): void {
  traffic.answered(response.status);
  const size = sentBodySize(response);
  if (size !== undefined) {
    traffic.sent.inc(size);
  } else if (response.headers.get("content-type") === "text/event-stream" && response.body) {
    sseStreamOf(response.body)?.countSentInto(traffic.sent);
  }
}
