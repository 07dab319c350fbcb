/**
 * runtime.containUncaughtErrors, in a real Deno process: errors nothing caught (thrown by a
 * timer, a microtask or an I/O callback, or a promise rejected with no handler) are reported
 * and the process goes on; one an earlier guard handled is not reported.
 * @module
 */
import assert from "node:assert/strict";

const RUNTIME = new URL("../../../src/runtime/mod.ts", import.meta.url).href;

const SCRIPT = `
import { runtime } from "${RUNTIME}";
// An earlier guard, as the HTTP listener's: it handles what it knows, and only that.
globalThis.addEventListener("error", (event) => {
  if (event.error?.message === "known") event.preventDefault();
});
runtime.containUncaughtErrors((error) => console.log("reported:", error.message));
setTimeout(() => { throw new RangeError("in a timer"); }, 5);
setImmediate(() => { throw new Error("in an I/O callback"); });
queueMicrotask(() => { throw new Error("in a microtask"); });
queueMicrotask(() => { throw new Error("known"); });
Promise.reject(new Error("rejected"));
(async () => { throw new Error("in an async function"); })();
setTimeout(() => console.log("still running"), 100);
`;

Deno.test("uncaught errors are reported and the process keeps running", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", SCRIPT],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  assert.equal(code, 0);
  assert.deepEqual(lines.at(-1), "still running");
  assert.deepEqual(
    lines.slice(0, -1).sort(),
    [
      "reported: in a microtask",
      "reported: in a timer",
      "reported: in an I/O callback",
      "reported: in an async function",
      "reported: rejected",
    ].sort(),
  );
});
