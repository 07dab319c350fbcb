/**
 * The one interface every client-mode relay implements: what the front hands the stdio
 * client's messages to, whichever eras the client and the remote speak.
 * @module
 */
import type { Incoming } from "../../protocol/jsonrpc.ts";

/** One relay between the stdio client and the remote. */
export interface ClientRelay {
  /** A message from the stdio client. */
  receive(incoming: Incoming): void;
  /** Ends the relay (and the remote session, where there is one). */
  close(): Promise<void>;
}
