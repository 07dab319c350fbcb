/**
 * Results across the eras: a legacy server's answers dressed as modern ones (`resultType`,
 * server identity, cache hints), `server/discover` made from an `initialize` result, and back.
 * @module
 */
import { type ErrorObject, ProtocolErrorCode } from "./jsonrpc.ts";
import { type JsonObject, metaOf, SERVER_INFO_KEY } from "./envelope.ts";

/** Methods whose modern results must carry `ttlMs` and `cacheScope` (CacheableResult). */
const CACHEABLE_METHODS = new Set([
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "server/discover",
]);

/** Methods a modern server may answer with `input_required` (the MRTR pattern). */
export const INPUT_REQUIRED_METHODS: ReadonlySet<string> = new Set([
  "tools/call",
  "prompts/get",
  "resources/read",
]);

/**
 * Legacy methods and notifications that the modern era removed: a modern request for one of
 * them is answered "method not found".
 */
export const REMOVED_METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "ping",
  "logging/setLevel",
  "resources/subscribe",
  "resources/unsubscribe",
]);

/**
 * A legacy result as a modern one: `resultType: "complete"`, the server's identity in `_meta`,
 * and cache hints on cacheable results. A legacy server knows nothing of caching, so the hints
 * say "do not reuse" (`ttlMs: 0`) and "this user only" (`cacheScope: "private"`).
 */
export function modernResult(
  method: string,
  result: JsonObject,
  serverInfo: JsonObject | undefined,
): JsonObject {
  const decorated: JsonObject = { ...result, resultType: result.resultType ?? "complete" };
  if (serverInfo !== undefined) {
    decorated._meta = { ...metaOf(result), [SERVER_INFO_KEY]: serverInfo };
  }
  if (CACHEABLE_METHODS.has(method)) {
    decorated.ttlMs ??= 0;
    decorated.cacheScope ??= "private";
  }
  return decorated;
}

/** A legacy error as a modern one: resource-not-found (-32002) becomes invalid params. */
export function modernError(error: ErrorObject): ErrorObject {
  return error.code === ProtocolErrorCode.ResourceNotFound
    ? { ...error, code: ProtocolErrorCode.InvalidParams }
    : error;
}

/** A modern result as a legacy one: the modern-only fields removed. */
export function legacyResult(result: JsonObject): JsonObject {
  const { resultType: _type, ttlMs: _ttl, cacheScope: _scope, _meta: _, ...rest } = result;
  const meta = metaOf(result);
  if (meta === undefined) return rest;
  const { [SERVER_INFO_KEY]: _info, ...otherMeta } = meta;
  return Object.keys(otherMeta).length > 0 ? { ...rest, _meta: otherMeta } : rest;
}

/**
 * The `server/discover` result of a legacy server, from its `initialize` result:
 * `supportedVersions` are those the proxy serves on its behalf (the modern one included).
 */
export function discoverFromInitialize(
  initialize: JsonObject,
  supportedVersions: readonly string[],
): JsonObject {
  const discover: JsonObject = {
    supportedVersions: [...supportedVersions],
    capabilities: initialize.capabilities ?? {},
  };
  if (typeof initialize.instructions === "string") discover.instructions = initialize.instructions;
  return modernResult("server/discover", discover, serverInfoOf(initialize));
}

/** The server's identity from an `initialize` result. */
export function serverInfoOf(initialize: JsonObject): JsonObject | undefined {
  const info = initialize.serverInfo;
  return typeof info === "object" && info !== null ? info as JsonObject : undefined;
}

/**
 * The `initialize` result a legacy client gets from a modern server, from its
 * `server/discover` result and the version the client asked for (or the newest legacy one).
 */
export function initializeFromDiscover(
  discover: JsonObject,
  protocolVersion: string,
  fallbackServerInfo: JsonObject,
): JsonObject {
  const result: JsonObject = {
    protocolVersion,
    capabilities: discover.capabilities ?? {},
    serverInfo: metaOf(discover)?.[SERVER_INFO_KEY] ?? fallbackServerInfo,
  };
  if (typeof discover.instructions === "string") result.instructions = discover.instructions;
  return result;
}
