/**
 * mcp-proxy: a bridge between Model Context Protocol transports.
 *
 * Entry point only; the program lives in `src/`.
 * @module
 */
import { flushStderr } from "./src/io/log.ts";
import { main } from "./src/main.ts";
import { runtime } from "./src/runtime/mod.ts";

/** How long exiting waits for queued log lines when stderr is slow to drain. */
const EXIT_FLUSH_MS = 2_000;

if (import.meta.main) {
  const code = await main(runtime.args());
  await flushStderr(EXIT_FLUSH_MS);
  runtime.exit(code);
}
