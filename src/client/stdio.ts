/**
 * The local side of client mode, inbound: newline-delimited JSON-RPC read from stdin (answers
 * go out through the shared `MessageWriter`).
 * @module
 */
import type { Logger } from "../io/log.ts";
import {
  classify,
  errorResponse,
  type Incoming,
  invalidResponse,
  ProtocolErrorCode,
  type ResponseMessage,
} from "../protocol/jsonrpc.ts";
import { readLines } from "../io/lines.ts";

/** Where {@linkcode readMessages} hands what it read. */
export interface MessageHandlers {
  /** A well-formed message, sorted by kind. */
  onMessage(incoming: Incoming): void;
  /** The error response to a line that is not a valid message (its id when it had one). */
  onInvalid(response: ResponseMessage): void;
  /** Told when handling a message failed: that message is dropped, reading goes on. */
  log: Logger;
}

/**
 * Reads `stream` line by line to its end. Each valid message goes to `onMessage`; a line that
 * is not JSON (-32700), not a JSON-RPC message (-32600), or a request whose params are not an
 * object (-32602) is answered through `onInvalid` (such a notification is logged) and reading
 * goes on. Blank lines are skipped.
 */
export async function readMessages(
  stream: ReadableStream<Uint8Array>,
  handlers: MessageHandlers,
): Promise<void> {
  const handle = (line: string) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const message = `Parse error: ${(error as Error).message}`;
      return handlers.onInvalid(errorResponse(null, ProtocolErrorCode.ParseError, message));
    }
    // JSON-RPC batches left the protocol in 2025-06-18; the transports take single messages.
    const incoming = classify(value);
    if (incoming.kind !== "invalid") return handlers.onMessage(incoming);
    if (incoming.isRequest || incoming.error.code !== ProtocolErrorCode.InvalidParams) {
      return handlers.onInvalid(invalidResponse(incoming));
    }
    // A notification cannot be answered.
    handlers.log.warning(`Dropped a notification from stdin: ${incoming.error.message}`);
  };
  const failed = (error: unknown, line: string) =>
    handlers.log.warning(`Dropped a message from stdin (${line.slice(0, 200)}): ${error}`);
  await readLines(stream, handle, failed).done;
}
