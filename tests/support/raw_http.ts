/**
 * Raw HTTP helpers for route-level tests: MCP requests by hand and SSE bodies read as events.
 * @module
 */

/** An `initialize` request as a client would send it. */
export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "raw", version: "1" },
  },
} as const;

/** The headers of a Streamable HTTP POST. */
export const MCP_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** POSTs `body` (JSON-encoded unless a string) to `url`. */
export function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = MCP_HEADERS,
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Fetches `url` and returns the status, discarding the body. */
export async function statusOf(url: string, init?: RequestInit): Promise<number> {
  const response = await fetch(url, { redirect: "manual", ...init });
  await response.body?.cancel();
  return response.status;
}

/** One server-sent event. */
export interface SseEvent {
  event: string;
  data: string;
}

/** Reads server-sent events from a response body, one at a time. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }

  /** The next event with data (comments skipped), or `undefined` when the stream ends. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        let event = "message";
        let data: string | undefined;
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          if (line.startsWith("data:")) data = line.slice(5).trim();
        }
        if (data !== undefined) return { event, data };
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += value;
    }
  }

  /** The next event's data parsed as JSON (a JSON-RPC message); throws when the stream ends. */
  async nextMessage(): Promise<Record<string, unknown>> {
    const event = await this.next();
    if (!event) throw new Error("the stream ended");
    return JSON.parse(event.data);
  }

  /** Stops reading and releases the connection. */
  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

/** What came back on a raw connection: the status (NaN when none) and the whole answer. */
export interface RawAnswer {
  status: number;
  text: string;
}

/**
 * Writes `request` as is on a new TCP connection to `base` (`http://host:port`) and reads the
 * answer until the server closes or `timeoutMs` passes: for what `fetch` will not send (a
 * foreign `Host`, broken framing, random bytes).
 */
export async function rawExchange(
  base: string,
  request: string | Uint8Array,
  timeoutMs = 5_000,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const chunks: Uint8Array[] = [];
  try {
    await conn.write(typeof request === "string" ? new TextEncoder().encode(request) : request);
    for await (const chunk of conn.readable) chunks.push(chunk);
  } catch {
    // Reset by the server or closed by the timer: what arrived is the answer.
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  const text = new TextDecoder().decode(await new Blob(chunks as BlobPart[]).arrayBuffer());
  return { status: Number(text.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? NaN), text };
}

/** A `GET path` request with `headers`, closing the connection after the answer. */
export function rawGet(path: string, headers: Record<string, string>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `GET ${path} HTTP/1.1\r\n${lines.join("")}connection: close\r\n\r\n`;
}
