/**
 * The HTTP application of server mode: per server `/sse`, `/messages/` and `/mcp` (the default
 * server at the root, named ones under `/servers/NAME`), `/status`, CORS, DNS-rebinding checks
 * (Host and Origin) and API-key authentication.
 *
 * One Hono app: its routes are the table of exact paths, the guards of src/server/guards/ its
 * middleware, each applied once per request. The request as the HTTP server received it (with
 * the body it read ahead) reaches the handlers in Hono's bindings, so no second `Request` is
 * built for them.
 * @module
 */
import { type Context, Hono, TrieRouter } from "../deps.ts";
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

/** What the app is handed with each request: the request as received, its body read ahead. */
type ProxyEnv = { Bindings: ReceivedRequest };

/** Builds the application serving each of `mounts` under its prefix. */
export function createProxyApp(mounts: readonly MountedServer[], options: AppOptions): ProxyApp {
  const tables: { sse: SseSessions; http: StreamableHttpSessions }[] = [];
  const status = new ActivityStatus(
    mounts.map(({ server }) => server),
    () => tables.reduce((open, { sse }) => open + sse.openStreams, 0),
  );
  let closing = false;
  // Exact paths only, and a path segment may run to thousands of characters: see deps.ts.
  const app = new Hono<ProxyEnv>({ router: new TrieRouter() });

  // In order: CORS (its headers on every answer; preflights answered before any check), then
  // DNS-rebinding (loopback binds), then the API key on the MCP routes.
  if (options.allowOrigins.length > 0) {
    app.use(corsGuard(options.allowOrigins, options.exposeHeaders));
  }
  if (isLoopbackHost(options.host)) {
    const host = hostGuard(options.allowOrigins);
    if (host) app.use(host);
    app.use(originGuard(options.allowOrigins));
  }
  const auth = options.apiKeys.length > 0 ? apiKeyGuard(options.apiKeys) : undefined;

  app.get("/status", (c) => c.json(status.snapshot()));
  for (const { server, pathPrefix: prefix } of mounts) {
    const tableOptions = {
      maxBodyBytes: options.maxBodyBytes,
      keepAliveMs: options.keepAliveMs,
      stateless: options.stateless,
    };
    const sse = new SseSessions(server, tableOptions);
    const http = new StreamableHttpSessions(server, tableOptions);
    tables.push({ sse, http });
    const ssePath = `${prefix}/sse`;
    const messagesPath = `${prefix}/messages/`;
    // Both spellings, without a redirect (Hono is strict about trailing slashes).
    const mcpPaths = [`${prefix}/mcp`, `${prefix}/mcp/`];
    // On every method of these paths, before the routes (Hono runs handlers in the order they
    // were added): a method not served is 404 only with the key.
    if (auth) {
      for (const path of [ssePath, messagesPath, ...mcpPaths]) app.use(path, auth);
    }

    app.get(ssePath, (c) => {
      // Hono answers HEAD with the GET route and drops the body unread: open no session.
      if (c.req.method === "HEAD") return sse.head();
      status.touch();
      return sse.open(messagesPath, c.env.request);
    });
    // Both transports enforce maxBodyBytes themselves while they stream the body in.
    app.post(messagesPath, (c) => sse.post(c.req.query("session_id"), c.env));
    const mcp = (c: Context<ProxyEnv>) => {
      status.touch();
      return http.handle(c.env);
    };
    for (const path of mcpPaths) app.all(path, mcp);
  }
  app.notFound((c) => c.text("Not Found", 404));
  app.onError((error, c) => {
    const path = c.req.path;
    const shown = path.length > 200 ? `${path.slice(0, 200)}… (${path.length} characters)` : path;
    log.error(`${c.req.method} ${shown} answered 500: ${error.stack ?? error}`);
    return c.text("Internal Server Error", 500);
  });

  return {
    handle(received) {
      if (closing) return new Response("Shutting down", { status: 503 });
      return app.fetch(received.request, received);
    },
    async close() {
      closing = true;
      for (const { sse } of tables) sse.closeAll();
      await Promise.all(tables.map(({ http }) => http.closeAll()));
    },
  };
}
