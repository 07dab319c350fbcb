/**
 * Where the tests find the proxy and the npm-installed servers and clients.
 * @module
 */
import { V8_FLAGS_ARGUMENT } from "../../scripts/v8_flags.ts";

/** The checkout's root directory. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** Absolute path of an npm package's file inside tests/npm/node_modules. */
export function npmPath(relative: string): string {
  return new URL(`../npm/node_modules/${relative}`, import.meta.url).pathname;
}

/** The `@modelcontextprotocol/server-everything` entry script (run it with `node`). */
export const EVERYTHING_SERVER: string = npmPath(
  "@modelcontextprotocol/server-everything/dist/index.js",
);

/** The `@modelcontextprotocol/inspector-cli` entry script (run it with `node`). */
export const INSPECTOR_CLI: string = npmPath("@modelcontextprotocol/inspector-cli/build/cli.js");

/**
 * The command that starts mcp-proxy: `MCP_PROXY_BIN` when set (a built binary), else this
 * checkout's `main.ts` (see {@linkcode commandFor}).
 */
export function proxyCommand(): { command: string; args: string[] } {
  return commandFor(Deno.env.get("MCP_PROXY_BIN") || `${ROOT}main.ts`);
}

/**
 * How to run a build of mcp-proxy: a `.ts` entry point or a bundle (`.js`, what `deno compile`
 * builds the releases from) with `deno run -A`, the Deno running the tests and the V8 flags the
 * releases carry; anything else as the executable it is.
 */
export function commandFor(entry: string): { command: string; args: string[] } {
  if (!/\.[jt]s$/.test(entry)) return { command: entry, args: [] };
  return { command: Deno.execPath(), args: ["run", "-A", V8_FLAGS_ARGUMENT, "--quiet", entry] };
}
