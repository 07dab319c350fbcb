/**
 * The HTTP engine behind server mode and the sign-in callback listener (src/runtime), against
 * real client processes.
 */
import assert from "node:assert/strict";
import { runtime } from "../../src/runtime/mod.ts";

Deno.test("shutting down right after a client process exited does not crash the process", async () => {
  // The client's exit closes its connection while the engine still holds it; the shutdown's
  // close of it then raced (BadResource thrown inside Deno's engine, ending the process).
  for (let i = 0; i < 40; i++) {
    const server = await runtime.serve({
      hostname: "127.0.0.1",
      port: 0,
      handler: () => new Response("ok"),
    });
    const { success } = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const r = await fetch("http://127.0.0.1:${server.port}/"); await r.text(); Deno.exit(0);`,
      ],
      stdout: "null",
      stderr: "null",
    }).output();
    assert.ok(success);
    await server.shutdown();
  }
});
