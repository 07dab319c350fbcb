/**
 * The HTTP application of server mode: per server `/sse`, `/messages/` and `/mcp` (the default
 * server at the root, named ones under `/servers/NAME`), `/status`, CORS, DNS-rebinding checks
 * (Host and Origin) and API-key authentication.
 *
 * One table of routes by exact path, not a general router: every path is a fixed string, and a
 * router with its middleware chain cost more per call than the relay itself.
 * @module
 */
import { getLogger } from "../io/log.ts";
import type { SharedServer } from "../core/types.ts";
import type { ReceivedRequest } from "../runtime/types.ts";
import { SseSessions } from "./http/sse_server.ts";
import { StreamableHttpSessions } from "./http/streamable_http.ts";
import { apiKeyCheck } from "./guards/api_key.ts";
import { corsPolicy } from "./guards/cors.ts";
import { hostCheck, isLoopbackHost, originCheck, type RequestCheck } from "./guards/origin.ts";
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
}

/** The running application. */
export interface ProxyApp {
  /** Answers one HTTP request. */
  handle(received: ReceivedRequest): Response | Promise<Response>;
  /** Ends every client session and closes open streams; later requests get 503. */
  close(): Promise<void>;
}

/** A server and the URL path prefix it is served under (`""` for the root). */
export interface MountedServer {
  /** The shared stdio server. */
  server: SharedServer;
  /** Where its `/sse`, `/messages/` and `/mcp` live: `""` or `/servers/NAME`. */
  pathPrefix: string;
}

/** How one path is served. */
interface Route {
  /** The methods it serves (HEAD by the GET route, the body dropped); every method when absent. */
  methods?: readonly string[];
  /** Whether the API key is asked for: on the MCP endpoints, not on `/status`. */
  authenticated: boolean;
  /** Answers a request that passed the checks. */
  serve(received: ReceivedRequest): Response | Promise<Response>;
}

/** Builds the application serving each of `mounts` under its prefix. */
export function createProxyApp(mounts: readonly MountedServer[], options: AppOptions): ProxyApp {
  const tables: { sse: SseSessions; http: StreamableHttpSessions }[] = [];
  const status = new ActivityStatus(
    mounts.map(({ server }) => server),
    () => tables.reduce((open, { sse }) => open + sse.openStreams, 0),
  );
  let closing = false;
  const routes = new Map<string, Route>();
  routes.set("/status", {
    methods: ["GET"],
    authenticated: false,
    serve: () => Response.json(status.snapshot()),
  });
  for (const { server, pathPrefix: prefix } of mounts) {
    const tableOptions = {
      maxBodyBytes: options.maxBodyBytes,
      keepAliveMs: options.keepAliveMs,
      stateless: options.stateless,
    };
    const sse = new SseSessions(server, tableOptions);
    const http = new StreamableHttpSessions(server, tableOptions);
    tables.push({ sse, http });
    const messagesPath = `${prefix}/messages/`;
    routes.set(`${prefix}/sse`, {
      methods: ["GET"],
      authenticated: true,
      serve({ request }) {
        // A HEAD answer has no body: open no session.
        if (request.method === "HEAD") return sse.head();
        status.touch();
        return sse.open(messagesPath);
      },
    });
    // Both transports enforce maxBodyBytes themselves while they stream the body in.
    routes.set(messagesPath, {
      methods: ["POST"],
      authenticated: true,
      serve: (received) => sse.post(sessionIdOf(received.request.url), received),
    });
    const mcp: Route = {
      authenticated: true,
      serve(received) {
        status.touch();
        return http.handle(received);
      },
    };
    // Both spellings, without a redirect.
    routes.set(`${prefix}/mcp`, mcp);
    routes.set(`${prefix}/mcp/`, mcp);
  }

  // The checks of every request, in order: DNS-rebinding (loopback binds), then the API key on
  // the routes that ask for it.
  const checks: RequestCheck[] = isLoopbackHost(options.host)
    ? [hostCheck(options.allowOrigins), originCheck(options.allowOrigins)]
    : [];
  const auth = options.apiKeys.length > 0 ? apiKeyCheck(options.apiKeys) : undefined;
  const cors = options.allowOrigins.length > 0
    ? corsPolicy(options.allowOrigins, options.exposeHeaders)
    : undefined;

  // Not an async function: with the body read ahead, the checks and the hand-over to the
  // transport run without a promise of their own.
  const serve = (received: ReceivedRequest): Response | Promise<Response> => {
    const { request } = received;
    for (const check of checks) {
      const refusal = check(request);
      if (refusal) return refusal;
    }
    const route = routeOf(routes, request.url);
    if (route?.authenticated && auth) {
      const refusal = auth(request);
      if (refusal) return refusal;
    }
    const method = request.method === "HEAD" ? "GET" : request.method;
    if (!route || (route.methods && !route.methods.includes(method))) {
      return new Response("Not Found", { status: 404, headers: PLAIN_TEXT });
    }
    try {
      const answer = route.serve(received);
      return answer instanceof Promise ? answer.catch((error) => failed(request, error)) : answer;
    } catch (error) {
      return failed(request, error);
    }
  };

  return {
    handle(received) {
      if (closing) return new Response("Shutting down", { status: 503 });
      const { request } = received;
      const answer = cors ? cors(request, () => serve(received)) : serve(received);
      if (request.method !== "HEAD") return answer;
      return answer instanceof Promise ? answer.then(withoutBody) : withoutBody(answer);
    },
    async close() {
      closing = true;
      for (const { sse } of tables) sse.closeAll();
      await Promise.all(tables.map(({ http }) => http.closeAll()));
    },
  };
}

/** The content type of the plain-text answers. */
const PLAIN_TEXT = { "content-type": "text/plain; charset=UTF-8" };

/** The answer to a HEAD request: the GET answer's status and headers, its body unread. */
function withoutBody(response: Response): Response {
  return new Response(null, response);
}

/** The answer to a request whose handler (or the router) failed: 500, logged. */
function failed(request: Request, error: unknown): Response {
  const path = pathOf(request.url);
  const shown = path.length > 200 ? `${path.slice(0, 200)}… (${path.length} characters)` : path;
  log.error(`${request.method} ${shown} answered 500: ${(error as Error).stack ?? error}`);
  return new Response("Internal Server Error", { status: 500, headers: PLAIN_TEXT });
}

/** The path of a request URL (`http://host/path?query`), as sent: no parse, no decoding. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  if (start === -1) return "/";
  let end = url.indexOf("?", start);
  if (end === -1) end = url.indexOf("#", start);
  return url.slice(start, end === -1 ? url.length : end);
}

/**
 * The route of a request URL. An escape of an unreserved character names the same path
 * (`/m%63p` is `/mcp`, RFC 3986 section 6.2.2.2), so those are decoded; no other escape can spell
 * a route, whose paths hold unreserved characters and `/` only.
 */
function routeOf(routes: ReadonlyMap<string, Route>, url: string): Route | undefined {
  const path = pathOf(url);
  const route = routes.get(path);
  if (route || !path.includes("%")) return route;
  return routes.get(path.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16));
    return /^[A-Za-z0-9._~-]$/.test(character) ? character : escape;
  }));
}

/** The `session_id` query parameter of a request URL (the first, decoded), if any. */
function sessionIdOf(url: string): string | undefined {
  const start = url.indexOf("?");
  if (start === -1) return undefined;
  const end = url.indexOf("#", start);
  const query = url.slice(start + 1, end === -1 ? url.length : end);
  return new URLSearchParams(query).get("session_id") ?? undefined;
}
