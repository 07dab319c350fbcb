/**
 * The handshake record of a shared server: the child's `initialize` result, cached and given
 * to every client session, and what each session declared in its own `initialize`.
 *
 * The record is what an era adapter needs to speak for a session: the modern per-request
 * `_meta` envelope is its protocol version, capabilities, client info and log level.
 * @module
 */
import denoConfig from "../../deno.json" with { type: "json" };
import { LEGACY_PROTOCOL_VERSIONS, type Params } from "./jsonrpc.ts";

/** The proxy's version: deno.json's, read here only (`--version` prints it too). */
export const PROXY_VERSION: string = denoConfig.version;

/** The proxy's identity towards the servers it speaks to (children and remotes). */
export const PROXY_CLIENT_INFO: Readonly<Record<string, unknown>> = {
  name: "mcp-proxy",
  version: PROXY_VERSION,
};

/** What the proxy declares to a server it holds a session with: it relays these to clients. */
export const RELAYED_CLIENT_CAPABILITIES: Params = {
  roots: { listChanged: true },
  sampling: {},
  elicitation: {},
};

/** What a client session declared in its `initialize`. */
export interface ClientHandshake {
  /** The protocol version it asked for. */
  readonly protocolVersion: string | undefined;
  /** Its capabilities (empty when it sent none). */
  readonly capabilities: Record<string, unknown>;
  /** Its `clientInfo`, if any. */
  readonly clientInfo: Record<string, unknown> | undefined;
}

/** One client session as the upstream sees it: whose request a forwarded message is. */
export interface SessionContext {
  /** Unique among the sessions of one multiplexer. */
  readonly id: number;
  /** Its `initialize`, once it sent one. */
  readonly handshake: ClientHandshake | undefined;
  /** The level it set with `logging/setLevel`, if any. */
  readonly logLevel: string | undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/** The handshake a session declared with these `initialize` params. */
export function clientHandshake(params: Params): ClientHandshake {
  const version = params.protocolVersion;
  return {
    protocolVersion: typeof version === "string" ? version : undefined,
    capabilities: record(params.capabilities) ?? {},
    clientInfo: record(params.clientInfo),
  };
}

/** The child's answer to the proxy's `initialize`. */
export class ChildHandshake {
  /** The result as the child sent it. */
  readonly result: Record<string, unknown>;

  /** A record of the child's `initialize` result. */
  constructor(result: Record<string, unknown>) {
    this.result = result;
  }

  /** Whether the child declared the logging capability (else `logging/setLevel` goes to it). */
  get logs(): boolean {
    return record(this.result.capabilities)?.logging !== undefined;
  }

  /** The result for a client that asked for `requested`: its version when it is an older one we speak. */
  answerFor(requested: string | undefined): Record<string, unknown> {
    const offered = this.result.protocolVersion;
    if (
      requested !== undefined && typeof offered === "string" && requested < offered &&
      LEGACY_PROTOCOL_VERSIONS.includes(requested)
    ) {
      return { ...this.result, protocolVersion: requested };
    }
    return this.result;
  }
}
