/**
 * The benchmark's third-party imports: the MCP SDK 1.x client side, pinned to the same version
 * as the tests' SDK peer (`tests/support/sdk.ts`), so the load generator behaves like a real
 * SDK-based client.
 * @module
 */

// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client"
export { Client } from "npm:@modelcontextprotocol/sdk@1.32.2/client";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/stdio"
export { StdioClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/stdio.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/sse"
export { SSEClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/sse.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp"
export { StreamableHTTPClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/transport"
export type { Transport } from "npm:@modelcontextprotocol/sdk@1.32.2/shared/transport.js";
