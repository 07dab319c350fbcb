/**
 * Ports for test servers that must be named before they start (an instance id, a peer-URL
 * template, Prometheus' scrape target, a server restarted on the same port).
 * @module
 */

/**
 * Linux hands out ephemeral ports, for `port: 0` listeners and for the local end of outgoing
 * connections, from 32768 up. A port taken below that range cannot be grabbed by another test
 * file's connection between our check and the server's bind, which is how a port from
 * `port: 0` was lost under parallel test files.
 */
const FIRST = 20_000;
const PAST_LAST = 32_000;

/** Ports this process handed out already, so that two servers of one test never share one. */
const handedOut = new Set<number>();

/** A port below the ephemeral range that was free a moment ago and is not handed out twice. */
export function freePort(): number {
  while (true) {
    const port = FIRST + Math.floor(Math.random() * (PAST_LAST - FIRST));
    if (handedOut.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
    } catch {
      continue;
    }
    handedOut.add(port);
    return port;
  }
}
