/**
 * Redirects in client mode's own HTTP exchanges (era detection, modern remotes), handled as the
 * SDK transports of legacy remotes handle them: followed only within the URL's origin, so that
 * the user's headers (`-H`, tokens) and the requests never reach a server the URL did not name.
 * @module
 */

/** Statuses that redirect, when they name a `Location`. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Redirects followed for one request; the answer after that is returned as it is. */
const MAX_REDIRECTS = 5;

/** A `fetch` as client mode calls it: a URL and options, never a `Request`. */
export type RemoteFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** The remote redirected to another origin: nothing was sent there. */
export class CrossOriginRedirectError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "CrossOriginRedirectError";
}

/**
 * Whether `to` has the scheme, host and port of `from`, or is its `https` form with both on the
 * default port (the upgrade the SDK transports also follow).
 */
function isWithinOrigin(from: URL, to: URL): boolean {
  if (from.protocol === to.protocol && from.host === to.host) return true;
  return from.protocol === "http:" && to.protocol === "https:" && from.hostname === to.hostname &&
    !from.port && !to.port;
}

/**
 * Wraps `baseFetch` so that a redirect is followed only within the origin, without credentials
 * in the URL other than the request's, and only when it keeps the method (a GET, or 307 and 308); one that
 * keeps the origin but not the method is returned as it came. A redirect to another origin
 * rejects with {@linkcode CrossOriginRedirectError}.
 */
export function fetchWithinOrigin(baseFetch: RemoteFetch): RemoteFetch {
  return async (input, init) => {
    const method = (init?.method ?? "GET").toUpperCase();
    let url = new URL(input);
    for (let followed = 0;; followed++) {
      const response = await baseFetch(url, { ...init, redirect: "manual" });
      const location = REDIRECT_STATUSES.has(response.status)
        ? response.headers.get("location")
        : null;
      const target = location === null ? null : URL.parse(location, url);
      if (target === null || followed === MAX_REDIRECTS) return response;
      // Credentials in the target's URL would be sent as the remote chose them.
      const addsCredentials = (target.username !== "" || target.password !== "") &&
        (target.username !== url.username || target.password !== url.password);
      if (!isWithinOrigin(url, target) || addsCredentials) {
        await response.body?.cancel();
        throw new CrossOriginRedirectError(
          `the remote server redirected to ${target.origin}${target.pathname}, outside the URL's ` +
            "origin: mcp-proxy does not follow such redirects, so the request and its headers " +
            "were not sent there (use that URL if it is the intended server)",
        );
      }
      if (method !== "GET" && response.status !== 307 && response.status !== 308) return response;
      await response.body?.cancel();
      url = target;
    }
  };
}
