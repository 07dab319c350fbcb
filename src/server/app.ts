/**
 * The HTTP application of server mode: per server `/sse`, `/messages/` and `/mcp` (the default
 * server at the root, named ones under `/servers/NAME`), `/status`, `/ready`, CORS,
 * DNS-rebinding checks (Host and Origin), API-key authentication, and, as one instance of
 * several, forwarding to the others and the drain before shutdown.
 *
 * One Hono app: its routes are the table of exact paths, each one handler that runs its
 * checks (the guards of src/server/guards/, the drain gate, forwarding) before its own work;
 * CORS, which works on every answer, is its only middleware. The request as the HTTP server
 * received it (with the body it read ahead) reaches the handlers in Hono's bindings, so no
 * second `Request` is built for them.
 * @module
 */
import { type Context, Hono, TrieRouter } from "../deps.ts";
import { namedServerPathPrefix, type ScaleOutSettings } from "../config.ts";
import { sleep } from "../io/async.ts";
import { getLogger } from "../io/log.ts";
import type { SharedServer } from "../core/types.ts";
import type { ReceivedRequest } from "../runtime/types.ts";
import { SseSessions } from "./http/sse_server.ts";
import { StreamableHttpSessions } from "./http/streamable_http.ts";
import { apiKeyGuard } from "./guards/api_key.ts";
import { corsGuard } from "./guards/cors.ts";
import { hostGuard } from "./guards/host.ts";
import { isLoopbackHost } from "./guards/loopback.ts";
import { originGuard } from "./guards/origin.ts";
import { type Check, guarded, type RouteHandler } from "./guards/check.ts";
import { drainGate, readiness } from "./scale/drain.ts";
import { ForwardedCalls, peerForwarder } from "./scale/forward.ts";
import type { McpRoute } from "./scale/posted_state.ts";
import type { AppObserver } from "./observe/http_observer.ts";
import { CachedRouter } from "./route_cache.ts";
import { ActivityStatus } from "./status.ts";

const log = getLogger("mcp_proxy.server");

/** How the application serves its servers. */
export interface AppOptions {
  /** Streamable HTTP without sessions. */
  stateless: boolean;
  /** CORS origins (`*` for any); empty disables CORS. */
  allowOrigins: readonly string[];
  /** Access-Control-Expose-Headers. */
  exposeHeaders: readonly string[];
  /** The interface bound: Host and Origin checks apply to loopback binds. */
  host: string;
  /** Keys accepted on the MCP endpoints; empty leaves them open. */
  apiKeys: readonly string[];
  /** Largest accepted request body, in bytes (413 above). */
  maxBodyBytes: number;
  /** SSE keep-alive interval in milliseconds (tests shorten it). */
  keepAliveMs?: number;
  /** What requests are reported to (metrics at `/metrics`, spans); absent: nothing. */
  observer?: AppObserver;
  /** One instance of several behind a load balancer; absent: alone. */
  scaleOut?: ScaleOutSettings;
}

/** What was still open when a drain ended. */
export interface DrainLeft {
  /** Sessions still open (SSE streams and Streamable HTTP sessions). */
  readonly sessions: number;
  /**
   * Calls still unfinished: those of `/sse` sessions, and outside sessions (modern calls, parked
   * rounds, stateless POSTs), and calls forwarded to another instance.
   */
  readonly calls: number;
}

/** The running application. */
export interface ProxyApp {
  /** Answers one HTTP request. */
  handle(received: ReceivedRequest): Response | Promise<Response>;
  /** Ends every client session and closes open streams; later requests get 503. */
  close(): Promise<void>;
  /**
   * Stops taking new sessions and calls (503 with `Retry-After`; `/ready` says so) while the
   * open ones are served, until none is left or `timeoutMs` has passed (or {@linkcode close}
   * was called); resolves with what was left.
   */
  drain(timeoutMs: number): Promise<DrainLeft>;
  /** Serves `mounted` under its prefix from now on (nothing must be served there yet). */
  mount(mounted: MountedServer): void;
  /**
   * Stops serving under `pathPrefix` (a config reload removed or changed its server): new
   * clients get 404 at once, while the sessions open there keep being served until they end
   * or `graceMs` has passed; then they are closed. Resolves then; the caller stops the server.
   */
  unmount(pathPrefix: string, graceMs: number): Promise<void>;
}

/** A server and the URL path prefix it is served under (`""` for the root). */
export interface MountedServer {
  /** The shared stdio server, or the aggregate of several. */
  server: SharedServer;
  /** Where its `/sse`, `/messages/` and `/mcp` live: `""` or `/servers/NAME`. */
  pathPrefix: string;
  /**
   * Set when `server` is the aggregate of named servers: `/status` shows it as such, by the
   * states of the servers it serves, rather than among the servers.
   */
  aggregate?: { readonly members: readonly { readonly server: SharedServer }[] };
}

/** What the app is handed with each request: the request as received, its body read ahead. */
type ProxyEnv = { Bindings: ReceivedRequest };

/** The endpoints of one mounted server: its SSE and Streamable HTTP session tables. */
interface Endpoints extends MountedServer {
  readonly sse: SseSessions;
  readonly http: StreamableHttpSessions;
}

/** How often a draining server is checked for sessions still open. */
const DRAIN_CHECK_MS = 250;

/** Builds the application serving each of `mounts` under its prefix; more can be mounted later. */
export function createProxyApp(mounts: readonly MountedServer[], options: AppOptions): ProxyApp {
  const { scaleOut } = options;
  const tableOptions = {
    maxBodyBytes: options.maxBodyBytes,
    keepAliveMs: options.keepAliveMs,
    stateless: options.stateless,
    instanceId: scaleOut?.instanceId,
    stateKey: scaleOut?.stateKey,
  };
  /** The servers served, by path prefix. */
  const served = new Map<string, Endpoints>();
  /** Servers being replaced or removed, whose open sessions are still served. */
  const draining = new Set<Endpoints>();
  const everyEndpoint = () => [...served.values(), ...draining];
  const status = new ActivityStatus(
    () => [...served.values()],
    () => everyEndpoint().reduce((open, { sse }) => open + sse.openStreams, 0),
  );
  let closing = false;
  /** Whether new sessions and calls are refused until shutdown (the drain after SIGTERM). */
  let refusingNew = false;
  // Exact paths, and one parameter for the NAME of /servers/NAME/: a path segment may run to
  // thousands of characters, see deps.ts. Each path is searched for once (route_cache.ts).
  const app = new Hono<ProxyEnv>({ router: new CachedRouter(new TrieRouter()) });

  // In order: CORS (its headers on every answer; preflights answered before any check), then
  // DNS-rebinding (loopback binds) on every route, then the API key on the MCP routes.
  if (options.allowOrigins.length > 0) {
    app.use(corsGuard(options.allowOrigins, options.exposeHeaders));
  }
  const rebinding: (Check<ProxyEnv> | undefined)[] = isLoopbackHost(options.host)
    ? [hostGuard(options.allowOrigins), originGuard(options.allowOrigins)]
    : [];
  const notFound = (c: Context<ProxyEnv>) => c.text("Not Found", 404);
  const auth = options.apiKeys.length > 0 ? apiKeyGuard<ProxyEnv>(options.apiKeys) : undefined;
  const observer = options.observer;
  if (observer?.metrics) {
    // Every method, so that one not served is 404 only with the key, as on the MCP routes.
    app.all(
      "/metrics",
      guarded([...rebinding, auth], (c) => {
        const method = c.req.method;
        return method === "GET" || method === "HEAD" ? observer.metricsResponse() : notFound(c);
      }),
    );
    observer.countSessions(everyEndpoint);
  }
  const peerUrl = scaleOut?.peerUrl;
  const forwardedCalls = new ForwardedCalls();
  const peerForwarding = scaleOut && peerUrl
    ? {
      calls: forwardedCalls,
      instanceId: scaleOut.instanceId,
      peerUrl,
      stateKey: scaleOut.stateKey,
      maxBodyBytes: options.maxBodyBytes,
      // A modern child's request states are its own: they name no instance of ours.
      sealsStates: (c: Context<ProxyEnv>) => endpointsFor(c)?.server.era !== "modern",
    }
    : undefined;
  const drainOptions = {
    draining: () => refusingNew,
    instanceId: scaleOut?.instanceId,
    maxBodyBytes: options.maxBodyBytes,
  };

  /**
   * The server a request to an MCP route goes to: the one whose open session it names, even
   * while that server drains, else the one mounted under its prefix.
   */
  const endpointsFor = (c: Context<ProxyEnv>): Endpoints | undefined => {
    const name = c.req.param("name");
    const prefix = name === undefined ? "" : namedServerPathPrefix(name);
    if (draining.size > 0) {
      const sseSession = c.req.query("session_id");
      const httpSession = c.req.header("mcp-session-id");
      for (const endpoints of draining) {
        if (endpoints.pathPrefix !== prefix) continue;
        if (sseSession !== undefined && endpoints.sse.hasSession(sseSession)) return endpoints;
        if (httpSession !== undefined && endpoints.http.hasSession(httpSession)) return endpoints;
      }
    }
    return served.get(prefix);
  };

  app.get("/status", guarded(rebinding, (c) => c.json(status.snapshot())));
  app.get(
    "/ready",
    guarded(rebinding, (c) => {
      const body = readiness([...served.values()].map(({ server }) => server), refusingNew);
      return c.json(body, body.ready ? 200 : 503);
    }),
  );
  /** An unknown server is 404 before any key is asked for, as an unknown path is. */
  const knownServer: Check<ProxyEnv> = (c) => endpointsFor(c) ? undefined : notFound(c);
  const sse: RouteHandler<ProxyEnv> = (c) => {
    const method = c.req.method;
    if (method !== "GET" && method !== "HEAD") return notFound(c);
    const endpoints = endpointsFor(c)!;
    // Hono answers HEAD with the GET route and drops the body unread: open no session.
    if (method === "HEAD") return endpoints.sse.head();
    status.touch();
    return endpoints.sse.open(`${endpoints.pathPrefix}/messages/`, c.env.request);
  };
  // Both transports enforce maxBodyBytes themselves while they stream the body in.
  const messages: RouteHandler<ProxyEnv> = (c) =>
    c.req.method === "POST"
      ? endpointsFor(c)!.sse.post(c.req.query("session_id"), c.env)
      : notFound(c);
  const mcp: RouteHandler<ProxyEnv> = (c) => {
    status.touch();
    return endpointsFor(c)!.http.handle(c.env);
  };
  const handlers: Record<McpRoute, RouteHandler<ProxyEnv>> = { sse, messages, mcp };
  for (const prefix of ["", namedServerPathPrefix(":name")]) {
    const ssePath = `${prefix}/sse`;
    const messagesPath = `${prefix}/messages/`;
    // Both spellings, without a redirect (Hono is strict about trailing slashes).
    const mcpPaths = [`${prefix}/mcp`, `${prefix}/mcp/`];
    const routes: [string, McpRoute][] = [
      [ssePath, "sse"],
      [messagesPath, "messages"],
      ...mcpPaths.map((path): [string, McpRoute] => [path, "mcp"]),
    ];
    for (const [path, route] of routes) {
      // Every method of these paths, in turn: the server must be known; a method not served is
      // 404 only with the key; then a request for another instance leaves, and what is left
      // may start something new (the drain gate).
      const checks = [
        ...rebinding,
        knownServer,
        auth,
        peerForwarding && peerForwarder(peerForwarding, route),
        drainGate(drainOptions, route),
      ];
      app.all(path, guarded(checks, handlers[route]));
    }
  }
  app.notFound(guarded(rebinding, notFound));
  app.onError((error, c) => {
    const path = c.req.path;
    const shown = path.length > 200 ? `${path.slice(0, 200)}… (${path.length} characters)` : path;
    log.error(`${c.req.method} ${shown} answered 500: ${error.stack ?? error}`);
    return c.text("Internal Server Error", 500);
  });

  const mount = (mounted: MountedServer) => {
    if (served.has(mounted.pathPrefix)) {
      throw new Error(`A server is already served under '${mounted.pathPrefix}/'`);
    }
    served.set(mounted.pathPrefix, {
      ...mounted,
      sse: new SseSessions(mounted.server, tableOptions),
      http: new StreamableHttpSessions(mounted.server, tableOptions),
    });
  };
  const left = (): DrainLeft =>
    everyEndpoint().reduce(
      ({ sessions, calls }, { sse, http }) => ({
        sessions: sessions + sse.openStreams + http.openSessions,
        calls: calls + sse.callsInFlight + http.callsInFlight,
      }),
      { sessions: 0, calls: forwardedCalls.open },
    );
  const closeEndpoints = async ({ sse, http }: Endpoints) => {
    sse.closeAll();
    await http.closeAll();
  };
  for (const mounted of mounts) mount(mounted);
  const observed = observer?.wrap(
    (received) => app.fetch(received.request, received),
    (prefix) => served.get(prefix)?.server.name,
  );

  return {
    handle(received) {
      if (closing) return new Response("Shutting down", { status: 503 });
      if (observed) return observed(received);
      return app.fetch(received.request, received);
    },
    mount,
    async unmount(pathPrefix, graceMs) {
      const endpoints = served.get(pathPrefix);
      if (!endpoints) return;
      served.delete(pathPrefix);
      draining.add(endpoints);
      const until = Date.now() + graceMs;
      while (
        !closing && Date.now() < until &&
        endpoints.sse.openStreams + endpoints.http.openSessions > 0
      ) {
        await sleep(DRAIN_CHECK_MS);
      }
      draining.delete(endpoints);
      await closeEndpoints(endpoints);
    },
    async drain(timeoutMs) {
      refusingNew = true;
      const until = Date.now() + timeoutMs;
      let open = left();
      while (!closing && Date.now() < until && open.sessions + open.calls > 0) {
        await sleep(Math.min(DRAIN_CHECK_MS, until - Date.now()));
        open = left();
      }
      return open;
    },
    async close() {
      closing = true;
      await Promise.all(everyEndpoint().map(closeEndpoints));
    },
  };
}
