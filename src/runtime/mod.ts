/**
 * The host runtime, chosen once at start-up.
 * @module
 */
import { denoRuntime } from "./deno.ts";
import type { Runtime } from "./types.ts";

export type * from "./types.ts";

/** The runtime this process runs on. */
export const runtime: Runtime = denoRuntime;
