/**
 * Which era a stdio child speaks, found as the stdio transport's backward-compatibility
 * section says: `server/discover` first; a `DiscoverResult` offering the modern revision, or a
 * modern error naming it, means modern; any other error means legacy (and `initialize` follows
 * on the same child). A child that times out or exits on the probe is legacy too, but must be
 * started again: that is the caller's part.
 * @module
 */
import { MODERN_PROTOCOL_VERSION } from "../shared/jsonrpc.ts";
import {
  CLIENT_CAPABILITIES_KEY,
  CLIENT_INFO_KEY,
  type JsonObject,
  PROTOCOL_VERSION_KEY,
} from "./envelope.ts";

/** The era of a child, as `/status` reports it. */
export type ChildEra = "legacy" | "modern";

/** The params of the `server/discover` request that probes a peer's era. */
export function discoverParams(clientInfo: JsonObject): JsonObject {
  return {
    _meta: {
      [PROTOCOL_VERSION_KEY]: MODERN_PROTOCOL_VERSION,
      [CLIENT_CAPABILITIES_KEY]: {},
      [CLIENT_INFO_KEY]: clientInfo,
    },
  };
}

/**
 * The verdict of a probe answer: `modern` with the discover result, or `legacy` for any error
 * (a modern server's -32022 would name revisions other than ours: legacy to us all the same)
 * or a result that does not offer the modern revision.
 */
export function eraOfDiscoverAnswer(
  answer: JsonObject,
): { era: "modern"; discover: JsonObject } | { era: "legacy" } {
  const result = answer.result;
  if (typeof result !== "object" || result === null) return { era: "legacy" };
  const versions = (result as JsonObject).supportedVersions;
  return Array.isArray(versions) && versions.includes(MODERN_PROTOCOL_VERSION)
    ? { era: "modern", discover: result as JsonObject }
    : { era: "legacy" };
}
