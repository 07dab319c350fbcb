/**
 * Plain TCP connections to a proxy that behave badly on purpose: opened and left idle, or
 * stopped halfway through a request, and watched until the server closes them.
 * @module
 */

/** An open TCP connection to a proxy and what it already sent. */
export interface RawConnection {
  readonly conn: Deno.Conn;
  /** Settles once the server has closed (or reset) the connection. */
  readonly closedByServer: Promise<void>;
  /** Everything the server sent so far. */
  received(): string;
  /** Sends `GET path` (keep-alive) and resolves with the answer's status (NaN if closed). */
  get(path: string): Promise<number>;
  close(): void;
}

/** Opens a connection to `base` (`http://host:port`) and writes `prefix`, if any, as is. */
export async function openRaw(base: string, prefix = ""): Promise<RawConnection> {
  const { hostname, port, host } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  if (prefix) await conn.write(new TextEncoder().encode(prefix));
  const decoder = new TextDecoder();
  let text = "";
  const closedByServer = (async () => {
    const buffer = new Uint8Array(4096);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) return;
        text += decoder.decode(buffer.subarray(0, n), { stream: true });
      }
    } catch {
      // Reset by the server, or closed by us.
    }
  })();
  let closed = false;
  closedByServer.then(() => closed = true);
  return {
    conn,
    closedByServer,
    received: () => text,
    async get(path) {
      const from = text.length;
      await conn.write(new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n\r\n`));
      for (;;) {
        const status = text.slice(from).match(/^HTTP\/1\.1 (\d{3}) /)?.[1];
        if (status) return Number(status);
        if (closed) return NaN;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    close() {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** The first line of each request head that stops before the request is complete. */
export const STALLED_REQUESTS: Readonly<Record<string, (host: string) => string>> = {
  idle: () => "",
  "half-sent header": (host) => `GET /status HTTP/1.1\r\nhost: ${host}\r\nx-slow: `,
  "stalled body": (host) =>
    `POST /mcp HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
    `accept: application/json, text/event-stream\r\ncontent-length: 100\r\n\r\n{"jsonrpc"`,
  "stalled chunked body": (host) =>
    `POST /mcp HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n` +
    `accept: application/json, text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n` +
    `3\r\n{"j\r\n`,
};

/** A client on a raw socket that opens `/sse`, reads its endpoint, then never reads again. */
export async function stalledSseClient(
  base: string,
): Promise<{ messages: string; conn: Deno.Conn }> {
  const { hostname, port } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  await conn.write(new TextEncoder().encode(`GET /sse HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`));
  const buffer = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const match = text.match(/data: (\/messages\/\?session_id=[0-9a-f]{32})\n/);
    if (match) return { messages: new URL(match[1], base).href, conn };
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`the stream ended: ${text}`);
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
}

/** The number of file descriptors process `pid` holds open (Linux `/proc`). */
export async function openDescriptors(pid: number): Promise<number> {
  let count = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) count++;
  return count;
}
