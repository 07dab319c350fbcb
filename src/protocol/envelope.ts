/**
 * The per-request `_meta` envelope of MCP 2026-07-28 (the modern era): what a request carries
 * instead of the legacy `initialize` handshake, and how the proxy reads, strips and builds it.
 * @module
 */
import { levelRank, LOG_LEVELS } from "./log_levels.ts";
import { isObject, MODERN_PROTOCOL_VERSION } from "./jsonrpc.ts";

/** `_meta` key of the protocol version a modern request speaks (required). */
export const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
/** `_meta` key of the client's capabilities for one request (required). */
export const CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";
/** `_meta` key of the client's name and version (recommended). */
export const CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo";
/** `_meta` key of the log level a request asks for; without it, no `notifications/message`. */
export const LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel";
/** `_meta` key of the server's identity on each result. */
export const SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo";
/**
 * The list-changed flags of a `subscriptions/listen` filter, each by the server capability
 * area whose `listChanged` backs it (and whose `notifications/AREA/list_changed` it lets in).
 */
export const LIST_CHANGED_FLAGS: Readonly<Record<string, string>> = {
  toolsListChanged: "tools",
  promptsListChanged: "prompts",
  resourcesListChanged: "resources",
};

/** The list-changed flags a server with `capabilities` can honour. */
export function listChangedFlags(capabilities: JsonObject): string[] {
  return Object.keys(LIST_CHANGED_FLAGS).filter((flag) => {
    const capability = capabilities[LIST_CHANGED_FLAGS[flag]];
    return isObject(capability) && capability.listChanged === true;
  });
}

/** `_meta` key tagging each notification of a `subscriptions/listen` stream. */
export const SUBSCRIPTION_ID_KEY = "io.modelcontextprotocol/subscriptionId";

const ENVELOPE_KEYS = [
  PROTOCOL_VERSION_KEY,
  CLIENT_CAPABILITIES_KEY,
  CLIENT_INFO_KEY,
  LOG_LEVEL_KEY,
];

/** Whether `version` names a modern (handshake-free) protocol revision. */
export function isModernVersion(version: string): boolean {
  return version >= MODERN_PROTOCOL_VERSION;
}

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/** What a modern request says about its client. */
export interface Envelope {
  /** The protocol version the request speaks. */
  readonly protocolVersion: string;
  /** The client's capabilities for this request. */
  readonly clientCapabilities: JsonObject;
  /** The client's name and version, if it gave them. */
  readonly clientInfo: JsonObject | undefined;
  /** The MCP log level asked for, if any. */
  readonly logLevel: string | undefined;
}

/** Why an envelope was refused: the offending key and what is wrong with it. */
export interface EnvelopeIssue {
  /** The `_meta` key at fault (`_meta` itself when it is missing). */
  readonly key: string;
  /** What is wrong with it: `missing`, or what was expected. */
  readonly problem: string;
}

/** The `_meta` object of `params`, if it has one. */
export function metaOf(params: unknown): JsonObject | undefined {
  if (!isObject(params)) return undefined;
  const meta = params._meta;
  return isObject(meta) ? meta : undefined;
}

/** Whether `params` claim the modern era (their `_meta` names a protocol version key). */
export function hasEnvelopeClaim(params: unknown): boolean {
  const meta = metaOf(params);
  return meta !== undefined && PROTOCOL_VERSION_KEY in meta;
}

/** Reads the envelope of `params`, or says what is missing or malformed (first issue only). */
export function readEnvelope(params: unknown): Envelope | EnvelopeIssue {
  const meta = metaOf(params);
  if (meta === undefined) return { key: "_meta", problem: "missing" };
  const protocolVersion = meta[PROTOCOL_VERSION_KEY];
  const clientCapabilities = meta[CLIENT_CAPABILITIES_KEY];
  const clientInfo = meta[CLIENT_INFO_KEY];
  const logLevel = meta[LOG_LEVEL_KEY];
  if (protocolVersion === undefined) return { key: PROTOCOL_VERSION_KEY, problem: "missing" };
  if (clientCapabilities === undefined) return { key: CLIENT_CAPABILITIES_KEY, problem: "missing" };
  if (typeof protocolVersion !== "string") {
    return { key: PROTOCOL_VERSION_KEY, problem: "expected a protocol version string" };
  }
  if (!isObject(clientCapabilities)) {
    return { key: CLIENT_CAPABILITIES_KEY, problem: "expected an object" };
  }
  if (
    clientInfo !== undefined &&
    !(isObject(clientInfo) && typeof clientInfo.name === "string" &&
      typeof clientInfo.version === "string")
  ) {
    return { key: CLIENT_INFO_KEY, problem: "expected an object with name and version strings" };
  }
  if (logLevel !== undefined && levelRank(logLevel) === undefined) {
    return { key: LOG_LEVEL_KEY, problem: `expected one of ${LOG_LEVELS.join(", ")}` };
  }
  return {
    protocolVersion,
    clientCapabilities,
    clientInfo: clientInfo as JsonObject | undefined,
    logLevel: logLevel as string | undefined,
  };
}

/** Whether {@linkcode readEnvelope} found an issue. */
export function isEnvelopeIssue(value: Envelope | EnvelopeIssue): value is EnvelopeIssue {
  return "problem" in value;
}

/**
 * `params` without the envelope keys (and without `_meta` when nothing else was in it), for a
 * legacy peer that would not know them. Other `_meta` keys (progressToken, trace context) stay.
 */
export function stripEnvelope(params: JsonObject): JsonObject {
  const meta = metaOf(params);
  if (meta === undefined) return params;
  const { _meta: _, ...rest } = params;
  const kept: JsonObject = {};
  let keptAny = false;
  for (const key in meta) {
    if (ENVELOPE_KEYS.includes(key)) continue;
    kept[key] = meta[key];
    keptAny = true;
  }
  return keptAny ? { ...rest, _meta: kept } : rest;
}

/** `params` with `envelope` added to their `_meta` (for a modern peer). */
export function withEnvelope(params: JsonObject | undefined, envelope: Envelope): JsonObject {
  const meta: JsonObject = {
    ...metaOf(params),
    [PROTOCOL_VERSION_KEY]: envelope.protocolVersion,
    [CLIENT_CAPABILITIES_KEY]: envelope.clientCapabilities,
  };
  if (envelope.clientInfo !== undefined) meta[CLIENT_INFO_KEY] = envelope.clientInfo;
  if (envelope.logLevel !== undefined) meta[LOG_LEVEL_KEY] = envelope.logLevel;
  return { ...params, _meta: meta };
}
