/**
 * A legacy stdio client (it opens with `initialize`) in front of a modern (2026-07-28) remote.
 *
 * The handshake is answered here from the remote's `server/discover` result, in a version the
 * client offered; every request then goes out with the per-request envelope built from the
 * client's `initialize` and its `logging/setLevel` (see {@linkcode ModernAdapter}, which does the
 * same for a modern stdio child); `input_required` results become real requests to the client
 * on stdout, and the original request is retried with its answers.
 * @module
 */
import { ModernAdapter } from "../../core/modern_adapter.ts";
import { initializeFromDiscover } from "../../protocol/results.ts";
import {
  type ClientHandshake,
  clientHandshake,
  type SessionContext,
} from "../../protocol/handshake.ts";
import {
  type Incoming,
  LATEST_LEGACY_PROTOCOL_VERSION,
  LEGACY_PROTOCOL_VERSIONS,
  resultResponse,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import type { ClientRelay } from "./relay.ts";
import { ModernRemote } from "../remote/modern_remote.ts";
import type { RemoteOptions } from "../remote/options.ts";

/** What the relay needs. */
export interface LegacyOverModernOptions extends RemoteOptions {
  /** The remote's `server/discover` result. */
  readonly discover: Record<string, unknown>;
  /** The proxy's identity, for its own requests (the listen stream). */
  readonly clientInfo: Record<string, unknown>;
  /** Writes a message to the stdio client. */
  readonly deliver: (message: WireMessage) => void;
}

/** The one client session, as the envelope of its requests needs it. */
class StdioSession implements SessionContext {
  readonly id = 1;
  handshake: ClientHandshake | undefined;
  logLevel: string | undefined;
}

/** Serves a legacy stdio client from a modern remote. */
export class LegacyClientOverModernRemote implements ClientRelay {
  readonly #options: LegacyOverModernOptions;
  readonly #remote: ModernRemote;
  readonly #translation: ModernAdapter;
  readonly #session = new StdioSession();

  /** A relay to the remote of `options.discover`; opens its listen stream. */
  constructor(options: LegacyOverModernOptions) {
    this.#options = options;
    this.#translation = new ModernAdapter(options.discover, options.clientInfo, {
      toChild: (message) => void this.#remote.send(message),
      // Requests for input carry ids of the translation's own: the client answers them.
      toMux: (message) => options.deliver(message),
    });
    this.#remote = new ModernRemote(options, (message) => this.#translation.fromChild(message));
    this.#translation.start();
  }

  receive(incoming: Incoming): void {
    if (incoming.kind === "request") {
      const { message, params } = incoming;
      if (message.method === "initialize") {
        this.#session.handshake = clientHandshake(params);
        return this.#options.deliver(resultResponse(message.id, this.#initializeResult(params)));
      }
      if (message.method === "logging/setLevel" && typeof params.level === "string") {
        this.#session.logLevel = params.level;
      }
    }
    this.#translation.send(incoming.message, this.#session);
  }

  close(): Promise<void> {
    this.#remote.close();
    return Promise.resolve();
  }

  /** The `initialize` answer: the remote's discover result, in the client's version. */
  #initializeResult(params: Record<string, unknown>): Record<string, unknown> {
    const asked = params.protocolVersion;
    const version = typeof asked === "string" && LEGACY_PROTOCOL_VERSIONS.includes(asked)
      ? asked
      : LATEST_LEGACY_PROTOCOL_VERSION;
    return initializeFromDiscover(this.#options.discover, version, {
      name: new URL(this.#options.url).host,
      version: "unknown",
    });
  }
}
