/**
 * What every call of the `ModernBridge` shares: the contract with the server it is
 * bridged to and with the HTTP side, and how a bridge session is opened on the multiplexer.
 * @module
 */
import type { Logger } from "../io/log.ts";
import type { ClientSink, MuxSession, SessionOpening } from "./types.ts";
import { classify, type Incoming, type WireMessage } from "../protocol/jsonrpc.ts";
import type { Envelope } from "../protocol/envelope.ts";
import type { ParkedCalls } from "./parked_calls.ts";
import type { StateSealing } from "../protocol/request_state.ts";

/** Opens client sessions on a shared server (what `ModernBridge` needs of it). */
export interface SessionOpener {
  /** Opens a client session that delivers to `sink`; may throw `SessionRefused`. */
  openSession(sink: ClientSink, opening?: SessionOpening): MuxSession;
  /** The era the server behind the sessions speaks, once known. */
  readonly era?: "legacy" | "modern";
}

/** Where the answer to one modern request goes: its notifications, then its response. */
export interface ModernReply {
  /** Delivers one message for the request (the last one is its response). */
  send(message: WireMessage): void;
}

/** A modern request being served; closing it tells the bridge the client went away. */
export interface ModernCall {
  /** The client is gone (its POST ended): stop, and cancel the work unless it is parked. */
  close(): void;
}

/** Tuning of a `ModernBridge`. */
export interface ModernBridgeOptions {
  /** Where abandoned parked calls are reported. */
  readonly log: Logger;
  /** The legacy protocol version the proxy's own sessions ask for. */
  readonly legacyVersion: string;
  /** Every version the endpoint serves, for `server/discover`. */
  readonly supportedVersions: readonly string[];
  /** How long a call waiting for the client's input is kept (default 5 minutes). */
  readonly parkTimeoutMs?: number;
  /** How long the child's input requests are gathered into one round (default 50 ms). */
  readonly gatherMs?: number;
  /** Where calls in a multi round-trip are counted (default: the process's own). */
  readonly parkedCalls?: ParkedCalls;
  /** The instance id and shared key of the request states (default: none, a random key). */
  readonly sealing?: StateSealing;
}

/** The id of the proxy's own `initialize` on a bridge session: never a client's (those are numbers or the client's strings). */
export const INITIALIZE_ID = "mcp-proxy:initialize";
/** The id of the proxy's own `logging/setLevel` on a bridge session. */
const SET_LEVEL_ID = "mcp-proxy:setLevel";
/** The prefix of the ids of the proxy's own `resources/subscribe` on a listen session. */
export const SUBSCRIBE_ID = "mcp-proxy:subscribe";

/** A message the bridge makes, sorted as the multiplexer takes it. */
export function incoming(message: WireMessage): Incoming {
  const sorted = classify(message);
  if (sorted.kind === "invalid") {
    throw new Error(`mcp-proxy made an invalid message: ${sorted.error.message}`);
  }
  return sorted;
}

/** An error in one line, for the log. */
export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Sends the proxy's own `initialize` on a bridge session (answered by the multiplexer from the
 * server's cached handshake) and the request's log level, so that logs reach it.
 */
export function openSessionFor(
  session: MuxSession,
  envelope: Envelope,
  legacyVersion: string,
): void {
  session.receive(incoming({
    jsonrpc: "2.0",
    id: INITIALIZE_ID,
    method: "initialize",
    params: {
      protocolVersion: legacyVersion,
      capabilities: envelope.clientCapabilities,
      clientInfo: envelope.clientInfo ?? { name: "unknown", version: "0" },
    },
  }));
  if (envelope.logLevel === undefined) return;
  session.receive(incoming({
    jsonrpc: "2.0",
    id: SET_LEVEL_ID,
    method: "logging/setLevel",
    params: { level: envelope.logLevel },
  }));
}
