// deno-lint-ignore-file no-import-prefix -- a test-only dependency, pinned like src/deps.ts
/**
 * The SDK v2 client pinned to the modern era (2026-07-28), and raw modern POSTs for the
 * cases an SDK client would never send (tampered state, missing headers).
 * @module
 */
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernHttpTransport,
} from "npm:@modelcontextprotocol/client@2.4.0";

export { ModernClient };

/** The modern protocol revision. */
export const MODERN = "2026-07-28";

/**
 * Connects an SDK v2 client pinned to 2026-07-28 to `url`; `setup` registers handlers,
 * `headers` go with every request.
 */
export async function connectModernClient(
  url: string,
  options: {
    capabilities?: Record<string, unknown>;
    setup?: (client: ModernClient) => void;
    headers?: Record<string, string>;
  } = {},
): Promise<ModernClient> {
  const client = new ModernClient({ name: "modern-test-client", version: "2.0.0" }, {
    versionNegotiation: { mode: { pin: MODERN } },
    capabilities: options.capabilities ?? {},
  });
  options.setup?.(client);
  const requestInit = { headers: options.headers ?? {} };
  await client.connect(new ModernHttpTransport(new URL(url), { requestInit }));
  return client;
}

/** The envelope of a modern request, with `capabilities` declared. */
export function envelope(capabilities: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": capabilities,
    "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1" },
  };
}

/** The headers a modern POST of `body` (a request) carries, with `extra` added. */
export function modernHeaders(
  body: Record<string, unknown>,
  extra: Record<string, string> = {},
): Record<string, string> {
  const params = body.params as Record<string, unknown> | undefined;
  const name = params?.name ?? params?.uri;
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": String(body.method),
    ...(typeof name === "string" ? { "mcp-name": name } : {}),
    ...extra,
  };
}

/** A raw modern POST: status and parsed body (JSON, or the last event of a stream). */
export async function modernPost(
  url: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; events: unknown[] }> {
  const response = await fetch(url, {
    method: "POST",
    headers: modernHeaders(body, headers),
    body: JSON.stringify({ jsonrpc: "2.0", ...body }),
  });
  const text = await response.text();
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) {
    return { status: response.status, body: JSON.parse(text), events: [] };
  }
  const events = text.split("\n").filter((line) => line.startsWith("data: ")).map((line) =>
    JSON.parse(line.slice(6))
  );
  return { status: response.status, body: events.at(-1) as Record<string, unknown>, events };
}
