/**
 * Inbound authentication (`--api-key`, `MCP_PROXY_API_KEY`): requests to the MCP endpoints
 * must present one of the keys as `Authorization: Bearer KEY` or `X-API-Key: KEY`.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { sessionIdForLog } from "../../io/log.ts";
import { refuse } from "../http/http_error.ts";
import type { Check } from "./check.ts";
import type { Env } from "../../deps.ts";

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

/** Which key each request let in presented: its number, from 1 in the order the keys were given. */
const keyNumbers = new WeakMap<Request, number>();

/**
 * The check answering 401 with `WWW-Authenticate: Bearer` unless the request presents one
 * of `keys` (non-empty). CORS preflights pass.
 */
export function apiKeyGuard<E extends Env>(keys: readonly string[]): Check<E> {
  const digests = keys.map(digest);
  /** The number of `key` among the keys, or 0. */
  const numberOf = (key: string) => {
    const candidate = digest(key);
    // No early exit: every key is compared, whichever matches.
    return digests.reduce(
      (found, expected, i) => timingSafeEqual(candidate, expected) ? i + 1 : found,
      0,
    );
  };
  return (c) => {
    const request = c.req.raw;
    if (isPreflight(request)) return undefined;
    for (const key of presentedKeys(request.headers)) {
      const number = numberOf(key);
      if (number === 0) continue;
      keyNumbers.set(request, number);
      return undefined;
    }
    return refuse(401, "Unauthorized: API key required", { "www-authenticate": "Bearer" });
  };
}

/**
 * How the call log names the client of `request` (see `SessionOpening.client`): the first
 * characters of its session id `sessionId`, and which API key it presented (`api-key #2`, by
 * the order the keys were given), never the key.
 */
export function clientLabel(request: Request, sessionId: string | undefined): string | undefined {
  const key = keyNumbers.get(request);
  const session = sessionId === undefined ? undefined : `session ${sessionIdForLog(sessionId)}`;
  if (key === undefined) return session;
  return session === undefined ? `api-key #${key}` : `${session}, api-key #${key}`;
}
