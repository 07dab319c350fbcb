/**
 * mcp-proxy: a bridge between Model Context Protocol transports.
 *
 * Entry point only; the program lives in `src/`.
 * @module
 */
import { main } from "./src/main.ts";
import { runtime } from "./src/runtime/mod.ts";

if (import.meta.main) {
  runtime.exit(await main(runtime.args()));
}
