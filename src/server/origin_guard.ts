/**
 * DNS-rebinding protection for loopback binds. A page on another site whose name was rebound
 * to 127.0.0.1 reaches the proxy with that name in `Host` (its same-origin requests carry no
 * `Origin`) and, cross-origin, with its own `Origin`; both are refused with 403.
 * @module
 */
import type { MiddlewareHandler } from "../deps.ts";
import { isAllowedOrigin } from "./cors.ts";

const LOOPBACK_NAMES = new Set(["localhost", "[::1]", "::1"]);

// A dotted literal only: "127.0.0.1.attacker.example" is a name anyone can point anywhere.
const LOOPBACK_IPV4 = /^127(?:\.\d{1,3}){3}$/;

/** Whether `host` (as given to `--host`, or a URL's hostname) names a loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return LOOPBACK_NAMES.has(name) || LOOPBACK_IPV4.test(name);
}

/** The hostname of `url` as a browser reads it (lower case, IPv4 canonical), if it parses. */
function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Refuses requests whose `Origin` is neither a loopback origin nor in `allowOrigins`.
 * Requests without `Origin` (non-browser clients) pass.
 */
export function originGuard(allowOrigins: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && !isAllowedOrigin(allowOrigins, origin)) {
      const hostname = hostnameOf(origin);
      if (hostname === undefined || !isLoopbackHost(hostname)) {
        return c.text(`Forbidden origin: ${origin}`, 403);
      }
    }
    await next();
  };
}

/**
 * Refuses requests whose `Host` names neither a loopback interface (any port) nor the host of
 * an `allowOrigins` entry (a reverse proxy's public name); `*` among them lets any host
 * through, as it lets any origin. Requests without `Host` pass: browsers always send one.
 */
export function hostGuard(allowOrigins: readonly string[]): MiddlewareHandler {
  const anyHost = allowOrigins.includes("*");
  const allowedHosts = new Set(allowOrigins.map(hostnameOf).filter((name) => name !== undefined));
  return async (c, next) => {
    const host = c.req.header("host");
    if (host !== undefined && !anyHost) {
      const hostname = hostnameOf(`http://${host}`);
      if (hostname === undefined || !(isLoopbackHost(hostname) || allowedHosts.has(hostname))) {
        return c.text(`Forbidden host: ${host}`, 403);
      }
    }
    await next();
  };
}
