/**
 * The HTTP application of server mode: per server `/sse`, `/messages/` and `/mcp` (the default
 * server at the root, named ones under `/servers/NAME`), `/status`, CORS, DNS-rebinding checks
 * (Host and Origin) and API-key authentication.
 * @module
 */
import { Hono } from "../deps.ts";
import { getLogger } from "../log.ts";
import type { SharedServer } from "../relay/types.ts";
import { SseSessions } from "../transports/sse_server.ts";
import { StreamableHttpSessions } from "../transports/streamable_http.ts";
import { apiKeyAuth } from "./api_key.ts";
import { corsMiddleware } from "./cors.ts";
import { hostGuard, isLoopbackHost, originGuard } from "./origin_guard.ts";
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
  fetch(request: Request): Response | Promise<Response>;
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
  const status = new ActivityStatus(mounts.map(({ server }) => server));
  const app = new Hono();
  let closing = false;
  const tables: { sse: SseSessions; http: StreamableHttpSessions }[] = [];

  if (options.allowOrigins.length > 0) {
    app.use(corsMiddleware(options.allowOrigins, options.exposeHeaders));
  }
  if (isLoopbackHost(options.host)) {
    app.use(hostGuard(options.allowOrigins), originGuard(options.allowOrigins));
  }

  app.get("/status", (c) => c.json(status.snapshot()));

  const auth = options.apiKeys.length > 0 ? apiKeyAuth(options.apiKeys) : undefined;
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
    if (auth) {
      for (const path of [`${prefix}/sse`, messagesPath, ...mcpPaths]) app.use(path, auth);
    }

    app.get(`${prefix}/sse`, (c) => {
      // Hono answers HEAD with the GET route and drops the body unread: open no session.
      if (c.req.method === "HEAD") return sse.head();
      status.touch();
      return sse.open(messagesPath);
    });
    // Both transports enforce maxBodyBytes themselves while they stream the body in.
    app.post(messagesPath, (c) => sse.post(c.req.query("session_id"), c.req.raw));
    // Both spellings, without a redirect (Hono is strict about trailing slashes).
    for (const path of mcpPaths) {
      app.all(path, (c) => {
        status.touch();
        return http.handle(c.req.raw);
      });
    }
  }

  app.notFound((c) => c.text("Not Found", 404));
  app.onError((error, c) => {
    log.error(`${c.req.method} ${c.req.path}: ${error.stack ?? error}`);
    return c.text("Internal Server Error", 500);
  });

  return {
    fetch: (request) =>
      closing ? new Response("Shutting down", { status: 503 }) : app.fetch(request),
    async close() {
      closing = true;
      for (const { sse } of tables) sse.closeAll();
      await Promise.all(tables.map(({ http }) => http.closeAll()));
    },
  };
}
