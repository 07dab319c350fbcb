/**
 * Messages as the program's edges hand them on: sorted by the shared classifier.
 * @module
 */
import { classify, type Incoming } from "../../src/protocol/jsonrpc.ts";

/** `value` sorted by `classify`; throws when a test builds an invalid message by mistake. */
export function incoming(value: unknown): Incoming {
  const sorted = classify(value);
  if (sorted.kind === "invalid") throw new Error(`invalid test message: ${sorted.error.message}`);
  return sorted;
}
