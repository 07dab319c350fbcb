/**
 * Many SSE clients that stop reading (issue 16, point 5): each stays under the per-client limit
 * of unread bytes, but together they must not make the proxy hold their backlogs without
 * bound: the largest backlogs are dropped, and the other clients keep being answered.
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { EVERYTHING_ARGS, startServerProxy } from "../support/server_proxy.ts";
import { floodStalledReaders, sessionAlive } from "../load/stalled_readers.ts";

Deno.test("stalled SSE readers under the per-client limit are bounded together", async () => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const reader = await connectClient(proxy.mcp.default, "mcp");
  // 14 MiB each stays under the 16 MiB a single client may leave unread; 14 of them exceed
  // the 64 MiB all clients together may (sockets and the HTTP server take a few MiB each).
  const stalled = await floodStalledReaders(proxy.base, 14, 14);
  try {
    // Answers are relayed after the 202s: the child answers in order, so this one comes last.
    const result = await reader.callTool({ name: "echo", arguments: { message: "still here" } });
    assert.deepEqual(result.content, [{ type: "text", text: "Echo: still here" }]);
    let dropped = 0;
    for (let i = 0; i < 100 && dropped === 0; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      dropped = (await Promise.all(stalled.map(sessionAlive))).filter((alive) => !alive).length;
    }
    assert.ok(dropped > 0, "no stalled reader was dropped");
    assert.match(proxy.process.stderr, /not reading its stream; dropping it/);
  } finally {
    for (const client of stalled) client.conn.close();
    await reader.close();
  }
});
