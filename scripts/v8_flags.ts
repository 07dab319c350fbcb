/**
 * The V8 flags mcp-proxy ships with: baked into the release executables (`deno compile`), given
 * by `deno task start`, and used when the tests and the benchmark run `main.ts`, so that what is
 * measured is what users run.
 *
 * `--max-semi-space-size=4` (MiB; V8 lets the young generation grow to 16 per half): under 64
 * calls in flight the young generation of a relay grows to its limit within seconds, and RSS
 * with it. Capped at 4 MiB, RSS under 64 in flight was 0.51–0.70x, with CPU per call unchanged
 * at 1 and 8 in flight and 0.84x at 64 (lean bench, 3 interleaved rounds against no flag; 8 MiB
 * gave 0.73x RSS, 2 MiB 0.90x of 4's). `deno run` from a URL cannot take flags from the program
 * itself (V8 reads them before any code runs), so the README gives them on its command line.
 * @module
 */

/** The `deno run` / `deno compile` argument carrying mcp-proxy's V8 flags. */
export const V8_FLAGS_ARGUMENT = "--v8-flags=--max-semi-space-size=4";
