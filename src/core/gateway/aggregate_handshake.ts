/**
 * The aggregate's answer to `initialize`: the proxy speaks for its members as one server.
 * @module
 */
import {
  isObject,
  LATEST_LEGACY_PROTOCOL_VERSION,
  LEGACY_PROTOCOL_VERSIONS,
} from "../../protocol/jsonrpc.ts";
import { PROXY_VERSION } from "../../protocol/handshake.ts";

/** A member's name and its answer to the session's `initialize`, when it gave one. */
export interface MemberHandshake {
  /** The member's name, the heading of its instructions. */
  readonly name: string;
  /** Its `initialize` result; absent when it is not running. */
  readonly result: Record<string, unknown> | undefined;
}

/** The `capabilities` of a member's `initialize` result (empty when it has none). */
export function capabilitiesOf(
  result: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return isObject(result?.capabilities) ? result.capabilities : {};
}

/**
 * The `initialize` result of the aggregate for a client that asked for `requested`: that
 * version when it is a legacy one the proxy speaks, else the newest. Tools, prompts and
 * resources are always offered with `listChanged` (members come and go); resource
 * subscriptions, logging and completions when some member offers them. The instructions are
 * each member's under a heading with its name.
 */
export function aggregateInitializeResult(
  requested: string | undefined,
  members: readonly MemberHandshake[],
): Record<string, unknown> {
  const offered = members.map(({ result }) => capabilitiesOf(result));
  const resources: Record<string, unknown> = { listChanged: true };
  if (offered.some((c) => isObject(c.resources) && c.resources.subscribe === true)) {
    resources.subscribe = true;
  }
  const capabilities: Record<string, unknown> = {
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources,
  };
  if (offered.some((c) => c.logging !== undefined)) capabilities.logging = {};
  if (offered.some((c) => c.completions !== undefined)) capabilities.completions = {};
  const sections = members.flatMap(({ name, result }) => {
    const text = result?.instructions;
    return typeof text === "string" && text.trim() !== "" ? [`## ${name}\n\n${text.trim()}`] : [];
  });
  const version = requested !== undefined && LEGACY_PROTOCOL_VERSIONS.includes(requested)
    ? requested
    : LATEST_LEGACY_PROTOCOL_VERSION;
  return {
    protocolVersion: version,
    capabilities,
    serverInfo: { name: "mcp-proxy", version: PROXY_VERSION },
    ...(sections.length > 0 ? { instructions: sections.join("\n\n") } : {}),
  };
}
