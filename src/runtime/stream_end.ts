/**
 * Knowing when a byte stream that is passed on has ended: read to its end, failed, or
 * cancelled by its reader.
 * @module
 */

/** How a stream ended: read to its end, failed while read, or cancelled by its reader. */
export type StreamEnd = "read" | "failed" | "cancelled";

/** `stream` passed through as it is read, calling `onEnd` once, with how it ended. */
export function withEnd(
  stream: ReadableStream<Uint8Array>,
  onEnd: (how: StreamEnd) => void,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let ended = false;
  const end = (how: StreamEnd) => {
    if (ended) return;
    ended = true;
    onEnd(how);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        end("failed");
        controller.error(error);
        return;
      }
      if (chunk.done) {
        end("read");
        controller.close();
      } else {
        controller.enqueue(chunk.value);
      }
    },
    cancel(reason) {
      end("cancelled");
      return reader.cancel(reason);
    },
  });
}
