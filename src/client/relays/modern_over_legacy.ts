/**
 * A modern (2026-07-28) stdio client in front of a legacy remote.
 *
 * The proxy holds the legacy session itself (its own `initialize`, made from the client's
 * envelope, replayed by the {@linkcode ReconnectingRemote} on every reconnection) and serves the
 * client's requests through the same bridge server mode uses for modern HTTP clients in front
 * of a legacy child: a {@linkcode Multiplexer} over the one remote session, and the
 * {@linkcode ModernBridge} (envelopes stripped and applied, `server/discover` answered from
 * the `initialize` result, the remote's requests to the client turned into `input_required`).
 * @module
 */
import { ModernBridge } from "../../core/modern_bridge.ts";
import type { ModernCall } from "../../core/bridge_session.ts";
import { isEnvelopeIssue, readEnvelope } from "../../protocol/envelope.ts";
import type { Logger } from "../../io/log.ts";
import { RELAYED_CLIENT_CAPABILITIES } from "../../protocol/handshake.ts";
import { Multiplexer } from "../../core/multiplexer.ts";
import {
  classify,
  errorResponse,
  type Incoming,
  LATEST_LEGACY_PROTOCOL_VERSION,
  LEGACY_PROTOCOL_VERSIONS,
  MODERN_PROTOCOL_VERSION,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import type { ClientRelay } from "./relay.ts";
import { ReconnectingRemote } from "../remote/reconnecting_remote.ts";
import type { RemoteTransport } from "../remote/legacy_session.ts";

/** What the relay needs. */
export interface ModernOverLegacyOptions {
  /** Makes a new transport to the legacy remote (one per session). */
  readonly newTransport: () => RemoteTransport;
  /** The proxy's identity, when the client's envelope names none. */
  readonly clientInfo: Record<string, unknown>;
  /** Where the multiplexer, the reconnecting remote and the bridge report. */
  readonly log: Logger;
  /** Writes a message to the stdio client. */
  readonly deliver: (message: WireMessage) => void;
}

/** Serves a modern stdio client from a legacy remote. */
export class ModernClientOverLegacyRemote implements ClientRelay {
  readonly #options: ModernOverLegacyOptions;
  readonly #mux: Multiplexer;
  readonly #remote: ReconnectingRemote;
  readonly #bridge: ModernBridge;
  /** The client's requests being served, by id (a cancellation ends one). */
  readonly #calls = new Map<RequestId, ModernCall>();
  #handshake: Promise<void> | undefined;

  /** A relay that connects once the first request tells who the client is. */
  constructor(options: ModernOverLegacyOptions) {
    this.#options = options;
    this.#mux = new Multiplexer("remote", options.log);
    this.#remote = new ReconnectingRemote({
      newTransport: options.newTransport,
      log: options.log,
      deliver: (message) => {
        const incoming = classify(message);
        if (incoming.kind !== "invalid") this.#mux.fromUpstream(incoming);
      },
    });
    this.#mux.attach({ send: (message) => this.#remote.send(classify(message) as Incoming) });
    this.#bridge = new ModernBridge(this.#mux, {
      log: options.log,
      legacyVersion: LATEST_LEGACY_PROTOCOL_VERSION,
      supportedVersions: [MODERN_PROTOCOL_VERSION, ...LEGACY_PROTOCOL_VERSIONS],
    });
  }

  receive(incoming: Incoming): void {
    if (incoming.kind === "notification") {
      if (incoming.message.method !== "notifications/cancelled") return;
      const call = this.#calls.get(incoming.params.requestId as RequestId);
      return call?.close();
    }
    if (incoming.kind === "response") return; // a modern client answers nothing: MRTR
    const { message, params } = incoming;
    const envelope = readEnvelope(params);
    if (isEnvelopeIssue(envelope)) {
      return this.#options.deliver(errorResponse(
        message.id,
        ProtocolErrorCode.InvalidParams,
        `Invalid _meta envelope: ${envelope.key}: ${envelope.problem}`,
      ));
    }
    this.#handshake ??= this.#open(envelope.clientInfo);
    const call = this.#bridge.serve({ era: "modern", request: message, envelope }, {
      send: (answer) => {
        if (answer.method === undefined) this.#calls.delete(message.id);
        this.#options.deliver(answer);
      },
    });
    this.#calls.set(message.id, call);
  }

  async close(): Promise<void> {
    for (const call of this.#calls.values()) call.close();
    this.#mux.refuse("mcp-proxy is shutting down");
    await this.#remote.close();
  }

  /** Opens the legacy session: the proxy's `initialize`, in the client's name. */
  async #open(clientInfo: Record<string, unknown> | undefined): Promise<void> {
    this.#remote.start();
    try {
      const result = await this.#mux.request("initialize", {
        protocolVersion: LATEST_LEGACY_PROTOCOL_VERSION,
        capabilities: RELAYED_CLIENT_CAPABILITIES,
        clientInfo: clientInfo ?? this.#options.clientInfo,
      });
      this.#mux.notify("notifications/initialized");
      this.#mux.open(result);
    } catch (error) {
      this.#mux.refuse(`the remote server refused to initialise: ${(error as Error).message}`);
    }
  }
}
