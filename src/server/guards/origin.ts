/**
 * The `Origin` half of DNS-rebinding protection for loopback binds: a page on another site
 * reaches the proxy cross-origin with its own `Origin`, refused with 403.
 * @module
 */
import type { MiddlewareHandler } from "../../deps.ts";
import { isAllowedOrigin } from "./cors.ts";
import { forbidden, hostnameOf, isLoopbackHost, remembered } from "./loopback.ts";

/**
 * The middleware refusing requests whose `Origin` is neither a loopback origin nor in
 * `allowOrigins`. Requests without `Origin` (non-browser clients) pass.
 */
export function originGuard(allowOrigins: readonly string[]): MiddlewareHandler {
  const allowed = remembered((origin) => {
    if (isAllowedOrigin(allowOrigins, origin)) return true;
    const hostname = hostnameOf(origin);
    return hostname !== undefined && isLoopbackHost(hostname);
  });
  // Not an async function: one promise less on every call (Hono awaits what it returns).
  return (c, next) => {
    const origin = c.req.raw.headers.get("origin");
    if (origin === null || allowed(origin)) return next();
    return Promise.resolve(forbidden(`Forbidden origin: ${origin}`));
  };
}
