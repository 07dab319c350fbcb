/**
 * Connecting the SDK's `Client` to a proxy over Streamable HTTP or legacy SSE.
 * @module
 */
import { Client, type mcpTypes, SSEClientTransport, StreamableHTTPClientTransport } from "./sdk.ts";

export { Client };

/** Which transport a client speaks. */
export type ClientTransportKind = "mcp" | "sse";

/** How {@linkcode connectClient} sets up its client. */
export interface ConnectOptions {
  /** The client's name in `clientInfo`. */
  name?: string;
  /** Capabilities the client declares (handlers for them go in `setup`). */
  capabilities?: mcpTypes.ClientCapabilities;
  /** Called before connecting, to register request handlers. */
  setup?: (client: Client) => void;
  /** Headers sent with every HTTP request (an API key). */
  headers?: Record<string, string>;
}

/** Connects a new SDK client to `url` (an `/mcp` or `/sse` URL) and initialises it. */
export async function connectClient(
  url: string,
  kind: ClientTransportKind,
  options: ConnectOptions = {},
): Promise<Client> {
  const client = new Client(
    { name: options.name ?? "test-client", version: "1.0.0" },
    { capabilities: options.capabilities ?? {} },
  );
  options.setup?.(client);
  const requestInit = { headers: options.headers ?? {} };
  const transport = kind === "mcp"
    ? new StreamableHTTPClientTransport(new URL(url), { requestInit })
    : new SSEClientTransport(new URL(url), { requestInit });
  await client.connect(transport);
  return client;
}
