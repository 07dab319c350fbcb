/**
 * CORS for server mode, as the original configured Starlette's middleware: every method,
 * requested headers reflected, max-age 600, and a disallowed preflight origin answered 400.
 * @module
 */
import { cors, type MiddlewareHandler } from "../../deps.ts";

/** Methods allowed in preflight answers (Starlette's `allow_methods=["*"]`). */
export const CORS_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/** Preflight cache lifetime in seconds. */
export const CORS_MAX_AGE = 600;

/** Whether `origin` may make cross-origin requests, given the `--allow-origin` list. */
export function isAllowedOrigin(allowOrigins: readonly string[], origin: string): boolean {
  return allowOrigins.includes("*") || allowOrigins.includes(origin);
}

/**
 * The CORS middleware of `--allow-origin` (non-empty) and `--expose-header`: Hono's, which puts
 * the headers on every answer (refusals and 404s included) and answers every `OPTIONS` request
 * as a preflight (204) before any later check, as browsers send preflights without
 * credentials. `*` answers `*`; a list echoes the request's origin with `Vary: Origin`. A
 * preflight from an origin not allowed is answered 400, as Starlette does.
 */
export function corsGuard(
  allowOrigins: readonly string[],
  exposeHeaders: readonly string[],
): MiddlewareHandler {
  const anyOrigin = allowOrigins.includes("*");
  const withHeaders = cors({
    origin: anyOrigin ? "*" : [...allowOrigins],
    allowMethods: CORS_METHODS,
    // Empty: reflect Access-Control-Request-Headers (mcp-session-id, mcp-protocol-version,
    // last-event-id, authorization, ...).
    allowHeaders: [],
    exposeHeaders: [...exposeHeaders],
    maxAge: CORS_MAX_AGE,
  });
  return (c, next) => {
    const origin = c.req.header("origin");
    if (
      c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined &&
      !(origin !== undefined && isAllowedOrigin(allowOrigins, origin))
    ) {
      return Promise.resolve(c.text("Disallowed CORS origin", 400));
    }
    return withHeaders(c, next);
  };
}
