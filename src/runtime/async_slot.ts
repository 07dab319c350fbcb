/**
 * A value that follows asynchronous work (Node's `AsyncLocalStorage`, which Deno and Bun both
 * implement): set around a function, it is what every promise continuation and callback that
 * function starts sees. Loaded only when asked for (traces are on).
 * @module
 */
import type { AsyncSlot } from "./types.ts";

/** A new slot, empty outside {@linkcode AsyncSlot.run}. */
export async function createAsyncSlot<T>(): Promise<AsyncSlot<T>> {
  const { AsyncLocalStorage } = await import("node:async_hooks");
  const storage = new AsyncLocalStorage<T>();
  return {
    run: (value, fn) => storage.run(value, fn),
    get: () => storage.getStore(),
  };
}
