/**
 * Every third-party import of the program, pinned to exact versions in one place.
 *
 * Full `npm:` specifiers (no import map) so that `deno run <url>/main.ts` resolves them too.
 * Deep SDK imports type as `any` under Deno without the `@ts-types` hints.
 * @module
 */

export { ArgumentParser, BooleanOptionalAction, RawTextHelpFormatter } from "npm:argparse@3.0.4";

export { Hono } from "npm:hono@4.13.19";
export type { MiddlewareHandler } from "npm:hono@4.13.19";
export { cors } from "npm:hono@4.13.19/cors";

// The 1.x SDK only for client mode's transports (the client-era work replaces them). Loaded when
// client mode starts: server mode never needs them, and importing them costs about 22 MiB of RSS
// and 40 ms of start-up.
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
export type { JSONRPCMessage } from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/transport"
export type { Transport } from "npm:@modelcontextprotocol/sdk@1.32.2/shared/transport.js";
// Types only (no runtime import): `client/sse` without `.js` resolves to the declarations.
/** The 1.x SDK's `client/sse` module, as a type. */
export type SseClientModule = typeof import("npm:@modelcontextprotocol/sdk@1.32.2/client/sse");
/** The 1.x SDK's `client/streamableHttp` module, as a type. */
export type StreamableHttpClientModule =
  typeof import("npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp");

/** The 1.x SDK's client transports and their error classes. */
export interface ClientTransports {
  /** The legacy SSE client transport. */
  SSEClientTransport: SseClientModule["SSEClientTransport"];
  /** What the SSE transport reports when its stream fails. */
  SseError: SseClientModule["SseError"];
  /** The Streamable HTTP client transport. */
  StreamableHTTPClientTransport: StreamableHttpClientModule["StreamableHTTPClientTransport"];
  /** What the Streamable HTTP transport reports for an HTTP failure. */
  StreamableHTTPError: StreamableHttpClientModule["StreamableHTTPError"];
}

/** Imports the 1.x SDK's client transports (client mode). */
export async function loadClientTransports(): Promise<ClientTransports> {
  const [sse, http] = await Promise.all([
    // deno-lint-ignore no-import-prefix -- pinned here like every static import above
    import("npm:@modelcontextprotocol/sdk@1.32.2/client/sse.js") as Promise<SseClientModule>,
    // deno-lint-ignore no-import-prefix -- pinned here like every static import above
    import("npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp.js") as Promise<
      StreamableHttpClientModule
    >,
  ]);
  return {
    SSEClientTransport: sse.SSEClientTransport,
    SseError: sse.SseError,
    StreamableHTTPClientTransport: http.StreamableHTTPClientTransport,
    StreamableHTTPError: http.StreamableHTTPError,
  };
}

// The SDK v2 client's OAuth (discovery, PKCE, registration, refresh): loaded only when a remote
// asks for a sign-in, because importing it costs about 300 ms of start-up.
/** The SDK v2 client's types (OAuth provider, metadata, tokens); no runtime import. */
export type * as OAuth from "npm:@modelcontextprotocol/client@2.4.0";
/** Imports the SDK v2 client, whose `auth()` runs the OAuth protocol. */
export const loadOAuthClient = (): Promise<
  typeof import("npm:@modelcontextprotocol/client@2.4.0")
> =>
  // deno-lint-ignore no-import-prefix -- pinned here like every static import above
  import("npm:@modelcontextprotocol/client@2.4.0");
