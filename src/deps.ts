/**
 * Every third-party import of the program, pinned to exact versions in one place.
 *
 * Full `npm:` specifiers (no import map) so that `deno run <url>/main.ts` resolves them too.
 * Deep SDK imports type as `any` under Deno without the `@ts-types` hints.
 * @module
 */

export { ArgumentParser, BooleanOptionalAction, RawTextHelpFormatter } from "npm:argparse@3.0.4";

export { Hono } from "npm:hono@4.13.19";
export type { Context, MiddlewareHandler } from "npm:hono@4.13.19";
export { cors } from "npm:hono@4.13.19/cors";

// The 1.x SDK only for client mode's transports (the client-era work replaces them).
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/types"
export type { JSONRPCMessage } from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/shared/transport"
export type { Transport } from "npm:@modelcontextprotocol/sdk@1.32.2/shared/transport.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/sse"
export { SSEClientTransport, SseError } from "npm:@modelcontextprotocol/sdk@1.32.2/client/sse.js";
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp"
export {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp.js";

// The SDK v2 client's OAuth (discovery, PKCE, registration, refresh): loaded only when a remote
// asks for a sign-in, because importing it costs about 300 ms of start-up.
export type {
  OAuthClientInformationContext,
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "npm:@modelcontextprotocol/client@2.4.0";
/** Imports the SDK v2 client, whose `auth()` runs the OAuth protocol. */
// deno-lint-ignore no-import-prefix -- pinned here like every static import above
export const loadOAuthClient = () => import("npm:@modelcontextprotocol/client@2.4.0");
