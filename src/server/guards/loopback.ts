/**
 * What the DNS-rebinding guards share: which names are loopback, how a header value's hostname
 * is read, a bounded memory of verdicts, and their plain-text 403.
 * @module
 */

const LOOPBACK_NAMES = new Set(["localhost", "[::1]", "::1"]);

// A dotted literal only: "127.0.0.1.attacker.example" is a name anyone can point anywhere.
const LOOPBACK_IPV4 = /^127(?:\.\d{1,3}){3}$/;

/** Whether `host` (as given to `--host`, or a URL's hostname) names a loopback interface. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return LOOPBACK_NAMES.has(name) || LOOPBACK_IPV4.test(name);
}

/** The hostname of `url` as a browser reads it (lower case, IPv4 canonical), if it parses. */
export function hostnameOf(url: string): string | undefined {
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
export function remembered(verdict: (value: string) => boolean): (value: string) => boolean {
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
export function forbidden(text: string): Response {
  return new Response(text, {
    status: 403,
    headers: { "content-type": "text/plain; charset=UTF-8" },
  });
}
