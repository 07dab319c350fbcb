/**
 * Reading a server-sent-events body into its events' data, for the answers of modern POSTs and
 * the era probes of client mode.
 * @module
 */
import { DEFAULT_MAX_BODY_BYTES } from "../../config.ts";

/**
 * Largest event a remote may send, counted over its data lines (and any one line of the
 * stream): the request body limit server mode applies by default, 4 MiB.
 */
export const MAX_EVENT_BYTES: number = DEFAULT_MAX_BODY_BYTES;

/** An event or a line went past its bound: the stream is given up. */
export class EventTooLargeError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "EventTooLargeError";
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
/** `data:`, the field kept; comments and other fields are skipped. */
const DATA_FIELD = new TextEncoder().encode("data:");

function isDataLine(line: Uint8Array): boolean {
  return line.length >= DATA_FIELD.length && DATA_FIELD.every((byte, i) => line[i] === byte);
}

/** `parts` joined into one array (none copied when there is one). */
function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/**
 * Calls `onData` with the data of each event of `body` (comments and other fields skipped); an
 * event not ended by a blank line when the body ends is delivered too. Each chunk is searched
 * once for line ends, so a long line costs linear time; an event whose data lines, or a line
 * whose bytes, go past `maxEventBytes` rejects with {@linkcode EventTooLargeError} and cancels
 * the body.
 */
export async function readEventData(
  body: ReadableStream<Uint8Array>,
  onData: (data: string) => void,
  maxEventBytes: number = MAX_EVENT_BYTES,
): Promise<void> {
  const decoder = new TextDecoder();
  /** The line not ended yet, in the pieces it arrived in. */
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  /** The data lines of the event not ended yet. */
  let data: string[] = [];
  let dataBytes = 0;
  /** The last chunk ended with CR: a LF opening the next one belongs to it. */
  let afterCr = false;
  const tooLarge = () => new EventTooLargeError(`an event over ${maxEventBytes} bytes`);
  const onLine = (line: Uint8Array) => {
    if (line.length === 0) {
      if (data.length > 0) onData(data.join("\n"));
      data = [];
      dataBytes = 0;
      return;
    }
    if (!isDataLine(line)) return;
    dataBytes += line.length;
    if (dataBytes > maxEventBytes) throw tooLarge();
    data.push(decoder.decode(line.subarray(line[DATA_FIELD.length] === SPACE ? 6 : 5)));
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      let start = afterCr && chunk[0] === LF ? 1 : 0;
      afterCr = false;
      // The next CR and LF at or after `start`, each searched for again only once passed.
      let nextLf = chunk.indexOf(LF, start);
      let nextCr = chunk.indexOf(CR, start);
      while (start < chunk.length) {
        if (nextLf !== -1 && nextLf < start) nextLf = chunk.indexOf(LF, start);
        if (nextCr !== -1 && nextCr < start) nextCr = chunk.indexOf(CR, start);
        const end = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
        if (end === -1) {
          pending.push(chunk.subarray(start));
          pendingBytes += chunk.length - start;
          if (pendingBytes + dataBytes > maxEventBytes) throw tooLarge();
          break;
        }
        pending.push(chunk.subarray(start, end));
        const line = concat(pending, pendingBytes + end - start);
        pending.length = 0;
        pendingBytes = 0;
        onLine(line);
        start = end + 1;
        if (chunk[end] === CR) {
          if (start === chunk.length) afterCr = true;
          else if (chunk[start] === LF) start++;
        }
      }
    }
    if (pendingBytes > 0) onLine(concat(pending, pendingBytes));
    onLine(new Uint8Array(0));
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}
