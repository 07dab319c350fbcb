/**
 * CORS for server mode, as the original configured Starlette's middleware: every method,
 * requested headers reflected, max-age 600, and a disallowed preflight origin answered 400.
 * @module
 */

/** Methods allowed in preflight answers (Starlette's `allow_methods=["*"]`). */
export const CORS_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/** Preflight cache lifetime in seconds. */
export const CORS_MAX_AGE = 600;

/** Whether `origin` may make cross-origin requests, given the `--allow-origin` list. */
export function isAllowedOrigin(allowOrigins: readonly string[], origin: string): boolean {
  return allowOrigins.includes("*") || allowOrigins.includes(origin);
}

/**
 * Serves a request with CORS: `serve` gives the answer, which gets the CORS headers; an
 * `OPTIONS` request is a preflight, answered here without calling `serve`.
 */
export type CorsPolicy = (
  request: Request,
  serve: () => Response | Promise<Response>,
) => Response | Promise<Response>;

/**
 * The CORS policy of `--allow-origin` (non-empty) and `--expose-header`. `*` answers `*`; a
 * list echoes the request's origin with `Vary: Origin`. Every `OPTIONS` request is answered as a
 * preflight (204), before any other check: browsers send preflights without credentials.
 */
export function corsPolicy(
  allowOrigins: readonly string[],
  exposeHeaders: readonly string[],
): CorsPolicy {
  const anyOrigin = allowOrigins.includes("*");
  const exposed = exposeHeaders.length > 0 ? exposeHeaders.join(",") : undefined;
  const methods = CORS_METHODS.join(",");
  /** The CORS headers every answer to a request from `origin` carries. */
  const originHeaders = (origin: string | null, headers: Headers) => {
    if (anyOrigin) headers.set("access-control-allow-origin", "*");
    else if (origin !== null && allowOrigins.includes(origin)) {
      headers.set("access-control-allow-origin", origin);
    }
    if (exposed) headers.set("access-control-expose-headers", exposed);
  };

  const preflight = (request: Request, origin: string | null): Response => {
    const requested = request.headers.get("access-control-request-headers");
    if (
      request.headers.has("access-control-request-method") &&
      !(origin !== null && isAllowedOrigin(allowOrigins, origin))
    ) {
      return new Response("Disallowed CORS origin", {
        status: 400,
        headers: { "content-type": "text/plain; charset=UTF-8" },
      });
    }
    const headers = new Headers();
    originHeaders(origin, headers);
    if (!anyOrigin) headers.append("vary", "Origin");
    headers.set("access-control-max-age", String(CORS_MAX_AGE));
    headers.set("access-control-allow-methods", methods);
    // Reflected: mcp-session-id, mcp-protocol-version, last-event-id, authorization, ...
    if (requested) {
      headers.set(
        "access-control-allow-headers",
        requested.split(",").map((name) => name.trim()).join(","),
      );
      headers.append("vary", "Access-Control-Request-Headers");
    }
    return new Response(null, { status: 204, statusText: "No Content", headers });
  };

  return (request, serve) => {
    const origin = request.headers.get("origin");
    if (request.method === "OPTIONS") return preflight(request, origin);
    const decorate = (response: Response) => {
      originHeaders(origin, response.headers);
      if (!anyOrigin) response.headers.append("vary", "Origin");
      return response;
    };
    const answer = serve();
    return answer instanceof Promise ? answer.then(decorate) : decorate(answer);
  };
}
