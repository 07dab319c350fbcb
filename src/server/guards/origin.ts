/**
 * DNS-rebinding protection for loopback binds. A page on another site whose name was rebound
 * to 127.0.0.1 reaches the proxy with that name in `Host` (its same-origin requests carry no
 * `Origin`) and, cross-origin, with its own `Origin`; both are refused with 403.
 * @module
 */
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
 * Remembers the verdict on each header value seen: a client sends the same `Host` and `Origin`
 * with every request, so the URL parse runs once per value, not once per request. Bounded, so
 * that made-up values cannot grow it: it starts over when full.
 */
function remembered(verdict: (value: string) => boolean): (value: string) => boolean {
  const known = new Map<string, boolean>();
  return (value) => {
    let allowed = known.get(value);
    if (allowed === undefined) {
      allowed = verdict(value);
      if (known.size >= 256) known.clear();
      known.set(value, allowed);
    }
    return allowed;
  };
}

/** The 403 of a refused header, as plain text. */
function forbidden(text: string): Response {
  return new Response(text, {
    status: 403,
    headers: { "content-type": "text/plain; charset=UTF-8" },
  });
}

/** Checks a request before it is served: its refusal, or `undefined` to serve it. */
export type RequestCheck = (request: Request) => Response | undefined;

/**
 * Refuses requests whose `Origin` is neither a loopback origin nor in `allowOrigins`.
 * Requests without `Origin` (non-browser clients) pass.
 */
export function originCheck(allowOrigins: readonly string[]): RequestCheck {
  const allowed = remembered((origin) => {
    if (isAllowedOrigin(allowOrigins, origin)) return true;
    const hostname = hostnameOf(origin);
    return hostname !== undefined && isLoopbackHost(hostname);
  });
  return (request) => {
    const origin = request.headers.get("origin");
    if (origin === null || allowed(origin)) return undefined;
    return forbidden(`Forbidden origin: ${origin}`);
  };
}

/**
 * Refuses requests whose `Host` names neither a loopback interface (any port) nor the host of
 * an `allowOrigins` entry (a reverse proxy's public name); `*` among them lets any host
 * through, as it lets any origin. Requests without `Host` pass: browsers always send one.
 */
export function hostCheck(allowOrigins: readonly string[]): RequestCheck {
  if (allowOrigins.includes("*")) return () => undefined;
  const allowedHosts = new Set(allowOrigins.map(hostnameOf).filter((name) => name !== undefined));
  const allowed = remembered((host) => {
    const hostname = hostnameOf(`http://${host}`);
    return hostname !== undefined && (isLoopbackHost(hostname) || allowedHosts.has(hostname));
  });
  return (request) => {
    const host = request.headers.get("host");
    if (host === null || allowed(host)) return undefined;
    return forbidden(`Forbidden host: ${host}`);
  };
}
