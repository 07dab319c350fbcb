/**
 * The host runtime, chosen once at start-up.
 * @module
 */
import type { Runtime } from "./types.ts";

export type * from "./types.ts";

/**
 * The runtime this process runs on: Bun for the `bun build --compile` executable, else Deno.
 * Only the one in use is loaded: Bun's adapter brings Node modules that cost Deno start-up time.
 */
export const runtime: Runtime = "Bun" in globalThis
  ? (await import("./bun.ts")).bunRuntime
  : (await import("./deno.ts")).denoRuntime;
