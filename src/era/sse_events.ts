/**
 * Reading a server-sent-events body into its events' data, for the answers of modern POSTs.
 * @module
 */

/** Calls `onData` with the data of each event of `body` (comments and other fields skipped). */
export async function readEventData(
  body: ReadableStream<Uint8Array>,
  onData: (data: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  const line = (text: string) => {
    if (text === "") {
      if (data.length > 0) onData(data.join("\n"));
      data = [];
    } else if (text.startsWith("data:")) {
      data.push(text.slice(text[5] === " " ? 6 : 5));
    }
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r?\n|\r/);
    while (newline !== -1) {
      const end = buffer[newline] === "\r" && buffer[newline + 1] === "\n"
        ? newline + 2
        : newline + 1;
      line(buffer.slice(0, newline));
      buffer = buffer.slice(end);
      newline = buffer.search(/\r?\n|\r/);
    }
  }
  line(buffer + decoder.decode());
  line("");
}
