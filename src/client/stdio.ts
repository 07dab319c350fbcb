/**
 * The local side of client mode: newline-delimited JSON-RPC on stdin and stdout.
 * @module
 */
import type { JSONRPCMessage } from "../deps.ts";
import type { Logger } from "../log.ts";
import { readLines } from "../relay/line_decoder.ts";

/** JSON-RPC "Parse error". */
export const PARSE_ERROR = -32700;
/** JSON-RPC "Invalid Request". */
export const INVALID_REQUEST = -32600;

/** An error response without an id: the request it answers could not be read. */
function unreadable(code: number, message: string): JSONRPCMessage {
  return { jsonrpc: "2.0", id: null, error: { code, message } } as unknown as JSONRPCMessage;
}

/**
 * Reads `stream` line by line to its end. Each JSON object goes to `onMessage`; a line that
 * is not JSON, or JSON that is not an object, is answered through `onError` (id `null`) and
 * reading goes on. Blank lines are skipped.
 */
export async function readMessages(
  stream: ReadableStream<Uint8Array>,
  onMessage: (message: JSONRPCMessage) => void,
  onError: (response: JSONRPCMessage) => void,
): Promise<void> {
  const handle = (line: string) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      return onError(unreadable(PARSE_ERROR, `Parse error: ${(error as Error).message}`));
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      // JSON-RPC batches left the protocol in 2025-06-18; the transports take single messages.
      return onError(unreadable(INVALID_REQUEST, "Invalid Request: expected a JSON-RPC object"));
    }
    onMessage(value as JSONRPCMessage);
  };
  await readLines(stream, handle).done;
}

/** Writes JSON-RPC messages to a byte stream, one per line, in order. */
export class MessageWriter {
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();
  #log: Logger;
  #last: Promise<void> = Promise.resolve();

  constructor(stream: WritableStream<Uint8Array>, log: Logger) {
    this.#writer = stream.getWriter();
    this.#log = log;
  }

  /** Queues `message` for writing. */
  write(message: JSONRPCMessage): void {
    this.#last = this.#writer.write(this.#encoder.encode(JSON.stringify(message) + "\n"))
      .catch((error) => this.#log.debug(`Cannot write to stdout: ${(error as Error).message}`));
  }

  /** Resolves once everything queued so far is written. */
  flush(): Promise<void> {
    return this.#last;
  }
}
