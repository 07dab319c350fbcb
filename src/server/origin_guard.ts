/**
 * DNS-rebinding protection: a page on another site whose name was rebound to 127.0.0.1
 * reaches a loopback-bound proxy with its own `Origin`; such requests are refused with 403.
 * @module
 */
import type { MiddlewareHandler } from "../deps.ts";
import { isAllowedOrigin } from "./cors.ts";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Whether `host` (as given to `--host`) binds a loopback interface only. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || host.startsWith("127.");
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/**
 * Refuses requests whose `Origin` is neither a loopback origin nor in `allowOrigins`.
 * Requests without `Origin` (non-browser clients) pass.
 */
export function originGuard(allowOrigins: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (
      origin !== undefined && !isAllowedOrigin(allowOrigins, origin) && !isLoopbackOrigin(origin)
    ) {
      return c.text(`Forbidden origin: ${origin}`, 403);
    }
    await next();
  };
}
