/**
 * The `Host` half of DNS-rebinding protection for loopback binds: a page on another site whose
 * name was rebound to 127.0.0.1 reaches the proxy with that name in `Host` (its same-origin
 * requests carry no `Origin`), refused with 403.
 * @module
 */
import type { Env } from "../../deps.ts";
import type { Check } from "./check.ts";
import { forbidden, hostnameOf, isLoopbackHost, remembered } from "./loopback.ts";

/**
 * The check refusing requests whose `Host` names neither a loopback interface (any port)
 * nor the host of an `allowOrigins` entry (a reverse proxy's public name); none when `*` is
 * among them, which lets any host through as it lets any origin. Requests without `Host` pass:
 * browsers always send one.
 */
export function hostGuard<E extends Env>(allowOrigins: readonly string[]): Check<E> | undefined {
  if (allowOrigins.includes("*")) return undefined;
  const allowedHosts = new Set(allowOrigins.map(hostnameOf).filter((name) => name !== undefined));
  const allowed = remembered((host) => {
    const hostname = hostnameOf(`http://${host}`);
    return hostname !== undefined && (isLoopbackHost(hostname) || allowedHosts.has(hostname));
  });
  return (c) => {
    const host = c.req.raw.headers.get("host");
    return host === null || allowed(host) ? undefined : forbidden(`Forbidden host: ${host}`);
  };
}
