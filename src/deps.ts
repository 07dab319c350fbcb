/**
 * Every third-party import of the program, pinned to exact versions in one place.
 *
 * Full `npm:` specifiers (no import map) so that `deno run <url>/main.ts` resolves them too.
 * @module
 */

export { ArgumentParser, BooleanOptionalAction, RawTextHelpFormatter } from "npm:argparse@3.0.4";

export { Hono } from "npm:hono@4.13.19";
export type { Context, Env, MiddlewareHandler } from "npm:hono@4.13.19";
export type { Router } from "npm:hono@4.13.19/router";
export { cors } from "npm:hono@4.13.19/cors";
// Not Hono's default router: its RegExpRouter overflows the stack building its matcher when a
// path segment runs to thousands of characters (a long server name).
export { TrieRouter } from "npm:hono@4.13.19/router/trie-router";

// The SDK v2 client: client mode's transports to a legacy remote (SSE, Streamable HTTP) and its
// OAuth (discovery, PKCE, registration, refresh). Loaded when client mode needs it: server mode
// never does, and importing it adds about 30 MiB of RSS and 70 ms to a bare Deno process.
/** The SDK v2 client's types (OAuth provider, metadata, tokens); no runtime import. */
export type * as OAuth from "npm:@modelcontextprotocol/client@2.4.0";
/** A JSON-RPC message, as the SDK v2 client's transports type it. */
export type { JSONRPCMessage } from "npm:@modelcontextprotocol/client@2.4.0";
/** What the SDK v2 client's transports implement (start, send, close, the callbacks). */
export type { Transport } from "npm:@modelcontextprotocol/client@2.4.0";
/** The SDK v2 client module, as a type. */
export type ClientModule = typeof import("npm:@modelcontextprotocol/client@2.4.0");
/** Imports the SDK v2 client: its transports, their error classes and `auth()` for OAuth. */
export const loadClient = (): Promise<ClientModule> =>
  // deno-lint-ignore no-import-prefix -- pinned here like every static import above
  import("npm:@modelcontextprotocol/client@2.4.0");
