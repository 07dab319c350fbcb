/**
 * The host runtime, chosen once at start-up.
 * @module
 */
import { bunRuntime } from "./bun.ts";
import { denoRuntime } from "./deno.ts";
import type { Runtime } from "./types.ts";

export type * from "./types.ts";

/** The runtime this process runs on: Bun for the `bun build --compile` executable, else Deno. */
export const runtime: Runtime = "Bun" in globalThis ? bunRuntime : denoRuntime;
