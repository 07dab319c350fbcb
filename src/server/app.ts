/**
 * The HTTP application of server mode: per server `/sse`, `/messages/` and `/mcp` (the default
 * server at the root, named ones under `/servers/NAME`), `/status`, CORS, DNS-rebinding checks
 * (Host and Origin) and API-key authentication.
 * @module
 */
import { Hono } from "../deps.ts";
import { getLogger } from "../io/log.ts";
import type { SharedServer } from "../core/types.ts";
import { SseSessions } from "./http/sse_server.ts";
import { StreamableHttpSessions } from "./http/streamable_http.ts";
import { apiKeyCheck } from "./guards/api_key.ts";
import { corsMiddleware } from "./guards/cors.ts";
import {
  checkMiddleware,
  hostCheck,
  isLoopbackHost,
  originCheck,
  type RequestCheck,
} from "./guards/origin.ts";
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
  /**
   * Answers one HTTP request; `bodyText` is its body if the server read it already. (Not named
   * `fetch`: `Deno.serve` would pass its connection info as the second argument.)
   */
  handle(request: Request, bodyText?: string): Response | Promise<Response>;
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

/** Builds the application serving each of `mounts` under its prefix. */
export function createProxyApp(mounts: readonly MountedServer[], options: AppOptions): ProxyApp {
  const tables: { sse: SseSessions; http: StreamableHttpSessions }[] = [];
  const status = new ActivityStatus(
    mounts.map(({ server }) => server),
    () => tables.reduce((open, { sse }) => open + sse.openStreams, 0),
  );
  const app = new Hono();
  let closing = false;

  const cors = options.allowOrigins.length > 0;
  if (cors) app.use(corsMiddleware(options.allowOrigins, options.exposeHeaders));
  // The checks of every request, in order: DNS-rebinding (loopback binds), then the API key.
  const guards: RequestCheck[] = isLoopbackHost(options.host)
    ? [hostCheck(options.allowOrigins), originCheck(options.allowOrigins)]
    : [];
  for (const guard of guards) app.use(checkMiddleware(guard));

  app.get("/status", (c) => c.json(status.snapshot()));

  const auth = options.apiKeys.length > 0 ? apiKeyCheck(options.apiKeys) : undefined;
  const authMiddleware = auth && checkMiddleware(auth);
  /** The hot routes by exact path, served before the router with the same checks. */
  const direct = new Map<string, DirectRoute>();
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
    const mcpPaths = [`${prefix}/mcp`, `${prefix}/mcp/`];
    // Before the routes: Hono runs handlers in the order they were added.
    if (authMiddleware) {
      for (const path of [`${prefix}/sse`, messagesPath, ...mcpPaths]) {
        app.use(path, authMiddleware);
      }
    }

    app.get(`${prefix}/sse`, (c) => {
      // Hono answers HEAD with the GET route and drops the body unread: open no session.
      if (c.req.method === "HEAD") return sse.head();
      status.touch();
      return sse.open(messagesPath);
    });
    // Both transports enforce maxBodyBytes themselves while they stream the body in.
    const postMessage = (request: Request, query: string | undefined, bodyText?: string) =>
      sse.post(sessionIdOf(query), request, bodyText);
    app.post(messagesPath, (c) => postMessage(c.req.raw, queryOf(c.req.url)));
    direct.set(messagesPath, { methods: ["POST"], handle: postMessage });
    const mcp = (request: Request, bodyText?: string) => {
      status.touch();
      return http.handle(request, bodyText);
    };
    // Both spellings, without a redirect (Hono is strict about trailing slashes).
    for (const path of mcpPaths) {
      app.all(path, (c) => mcp(c.req.raw));
      direct.set(path, { handle: (request, _query, bodyText) => mcp(request, bodyText) });
    }
  }
  app.notFound((c) => c.text("Not Found", 404));
  app.onError((error, c) => failed(c.req.raw, error));

  const directChecks = auth ? [...guards, auth] : guards;
  const serveDirect = (
    route: DirectRoute,
    request: Request,
    query: string | undefined,
    bodyText: string | undefined,
  ) => {
    for (const check of directChecks) {
      const refusal = check(request);
      if (refusal) return refusal;
    }
    // Not an async function: with the body read ahead, the checks and the hand-over to the
    // transport run without a promise of their own.
    try {
      const answer = route.handle(request, query, bodyText);
      return answer instanceof Promise ? answer.catch((error) => failed(request, error)) : answer;
    } catch (error) {
      return failed(request, error);
    }
  };

  return {
    handle(request, bodyText) {
      if (closing) return new Response("Shutting down", { status: 503 });
      // Without CORS (whose headers go on every answer), the hot routes skip the router: it
      // and its middleware chain cost more per call than the relay itself.
      // HEAD goes to the router too: it answers with the GET route and drops the body.
      if (!cors && request.method !== "HEAD") {
        const { url } = request;
        const path = pathOf(url);
        const route = direct.get(path);
        if (route && (!route.methods || route.methods.includes(request.method))) {
          return serveDirect(route, request, queryOf(url), bodyText);
        }
      }
      // The router's routes read the body themselves: it goes back into a request. The router
      // itself can throw (its matcher is built on the first request), outside of onError.
      try {
        const answer = app.fetch(
          bodyText === undefined ? request : new Request(request, { body: bodyText }),
        );
        return answer instanceof Promise ? answer.catch((error) => failed(request, error)) : answer;
      } catch (error) {
        return failed(request, error);
      }
    },
    async close() {
      closing = true;
      for (const { sse } of tables) sse.closeAll();
      await Promise.all(tables.map(({ http }) => http.closeAll()));
    },
  };
}

/** The answer to a request whose handler (or the router) failed: 500, logged. */
function failed(request: Request, error: unknown): Response {
  const path = pathOf(request.url);
  const shown = path.length > 200 ? `${path.slice(0, 200)}… (${path.length} characters)` : path;
  log.error(`${request.method} ${shown} answered 500: ${(error as Error).stack ?? error}`);
  return new Response("Internal Server Error", {
    status: 500,
    headers: { "content-type": "text/plain; charset=UTF-8" },
  });
}

/** A route served before the router. */
interface DirectRoute {
  /** The methods it serves (others go to the router); all when absent. */
  methods?: readonly string[];
  /** Answers the request; `query` is the URL's query without `?`, `bodyText` the read body. */
  handle(
    request: Request,
    query: string | undefined,
    bodyText?: string,
  ): Response | Promise<Response>;
}

/** The path of a request URL (`http://host/path?query`), as sent: no parse, no decoding. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  if (start === -1) return "/";
  let end = url.indexOf("?", start);
  if (end === -1) end = url.indexOf("#", start);
  return url.slice(start, end === -1 ? url.length : end);
}

/** The query of a request URL without `?`, if it has one. */
function queryOf(url: string): string | undefined {
  const start = url.indexOf("?");
  if (start === -1) return undefined;
  const end = url.indexOf("#", start);
  return url.slice(start + 1, end === -1 ? url.length : end);
}

/** The `session_id` query parameter (the first, decoded), if any. */
function sessionIdOf(query: string | undefined): string | undefined {
  if (query === undefined) return undefined;
  return new URLSearchParams(query).get("session_id") ?? undefined;
}
