/**
 * The `Origin` half of DNS-rebinding protection for loopback binds: a page on another site
 * reaches the proxy cross-origin with its own `Origin`, refused with 403.
 * @module
 */
import type { Env } from "../../deps.ts";
import type { Check } from "./check.ts";
import { isAllowedOrigin } from "./cors.ts";
import { forbidden, hostnameOf, isLoopbackHost, remembered } from "./loopback.ts";

/**
 * The check refusing requests whose `Origin` is neither a loopback origin nor in
 * `allowOrigins`. Requests without `Origin` (non-browser clients) pass.
 */
export function originGuard<E extends Env>(allowOrigins: readonly string[]): Check<E> {
  const allowed = remembered((origin) => {
    if (isAllowedOrigin(allowOrigins, origin)) return true;
    const hostname = hostnameOf(origin);
    return hostname !== undefined && isLoopbackHost(hostname);
  });
  return (c) => {
    const origin = c.req.raw.headers.get("origin");
    return origin === null || allowed(origin)
      ? undefined
      : forbidden(`Forbidden origin: ${origin}`);
  };
}
