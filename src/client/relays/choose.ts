/**
 * The relay for each pair of eras: what the remote speaks (found by detection) and what the
 * stdio client speaks (read from its first message).
 *
 * | stdio client | remote | relay |
 * |---|---|---|
 * | legacy | legacy | {@linkcode ReconnectingRemote}: the messages as they are, one self-healing session |
 * | legacy | modern | {@linkcode LegacyClientOverModernRemote} |
 * | modern | modern | {@linkcode ModernRemote}: the messages as they are, headers mirrored |
 * | modern | legacy | {@linkcode ModernClientOverLegacyRemote} |
 * @module
 */
import type { WireMessage } from "../../protocol/jsonrpc.ts";
import type { RemoteKind } from "../remote/detect.ts";
import type { RemoteTransport } from "../remote/legacy_session.ts";
import { ModernRemote } from "../remote/modern_remote.ts";
import type { RemoteOptions } from "../remote/options.ts";
import { ReconnectingRemote } from "../remote/reconnecting_remote.ts";
import { LegacyClientOverModernRemote } from "./legacy_over_modern.ts";
import { ModernClientOverLegacyRemote } from "./modern_over_legacy.ts";
import type { ClientRelay } from "./relay.ts";

/**
 * A remote whose kind is known; a legacy one with the SDK transport that reaches it (loaded
 * only once it is known to be needed).
 */
export type ReadyRemote =
  | Extract<RemoteKind, { era: "modern" }>
  | { readonly era: "legacy"; readonly newTransport: () => RemoteTransport };

/** What every relay needs besides the remote. */
export interface RelayOptions extends RemoteOptions {
  /** The proxy's identity towards the remote. */
  readonly clientInfo: Record<string, unknown>;
  /** Writes a message to the stdio client. */
  readonly deliver: (message: WireMessage) => void;
}

/** The relay between `remote` and a stdio client of the era `modernClient` says. */
export function chooseRelay(
  remote: ReadyRemote,
  modernClient: boolean,
  options: RelayOptions,
): ClientRelay {
  const { url, headers, fetch, log, deliver, clientInfo } = options;
  if (remote.era === "modern") {
    if (!modernClient) {
      return new LegacyClientOverModernRemote({
        discover: remote.discover,
        clientInfo,
        url,
        headers,
        fetch,
        log,
        deliver,
      });
    }
    const modern = new ModernRemote({ url, headers, fetch, log }, deliver);
    return {
      receive: (incoming) => void modern.send(incoming.message),
      close: () => Promise.resolve(modern.close()),
    };
  }
  const { newTransport } = remote;
  if (modernClient) {
    return new ModernClientOverLegacyRemote({ newTransport, clientInfo, log, deliver });
  }
  const legacy = new ReconnectingRemote({ newTransport, deliver, log });
  legacy.start();
  return { receive: (incoming) => legacy.send(incoming), close: () => legacy.close() };
}
