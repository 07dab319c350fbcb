/**
 * Inbound authentication (`--api-key`, `MCP_PROXY_API_KEY`): requests to the MCP endpoints
 * must present one of the keys as `Authorization: Bearer KEY` or `X-API-Key: KEY`.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "../../deps.ts";
import { refuse } from "../http/http_error.ts";

// Keys are compared as SHA-256 digests: equal lengths, so the comparison time says nothing
// about a key's length or how much of it a guess got right.
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The keys a request presents: a bearer token and an `X-API-Key` value, either or both. */
function presentedKeys(headers: Headers): string[] {
  const bearer = headers.get("authorization")?.match(/^\s*Bearer\s+(\S+)\s*$/i)?.[1];
  const apiKey = headers.get("x-api-key")?.trim();
  return [bearer, apiKey].filter((key): key is string => !!key);
}

/** A CORS preflight: browsers send it without credentials, so it must stay open. */
function isPreflight(request: Request): boolean {
  return request.method === "OPTIONS" && request.headers.has("access-control-request-method");
}

/**
 * The middleware answering 401 with `WWW-Authenticate: Bearer` unless the request presents one
 * of `keys` (non-empty). CORS preflights pass.
 */
export function apiKeyGuard(keys: readonly string[]): MiddlewareHandler {
  const digests = keys.map(digest);
  const known = (key: string) => {
    const candidate = digest(key);
    // No early exit: every key is compared, whichever matches.
    return digests.reduce(
      (found, expected) => timingSafeEqual(candidate, expected) || found,
      false,
    );
  };
  // Not an async function: one promise less on every call (Hono awaits what it returns).
  return (c, next) => {
    const request = c.req.raw;
    if (isPreflight(request) || presentedKeys(request.headers).some(known)) return next();
    return Promise.resolve(
      refuse(401, "Unauthorized: API key required", { "www-authenticate": "Bearer" }),
    );
  };
}
