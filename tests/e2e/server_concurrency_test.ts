/**
 * Many HTTP clients on one shared server-everything child, end to end: SDK clients number
 * their requests from the same start, so every client reuses the others' request ids and
 * progress tokens, and each must still get only its own responses and progress.
 */
import assert from "node:assert/strict";
import { type Client, connectClient } from "../support/mcp_client.ts";
import { EVERYTHING_ARGS, type ServedProxy, startServerProxy } from "../support/server_proxy.ts";

const STEPS = 3;

/** One client's work: echoes and a long-running call with progress, all at once. */
async function exercise(client: Client, label: string) {
  const progress: number[] = [];
  const [long, ...echoes] = await Promise.all([
    client.callTool(
      { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: STEPS } },
      undefined,
      { onprogress: ({ progress: step }) => progress.push(step) },
    ),
    ...[1, 2, 3].map((n) =>
      client.callTool({ name: "echo", arguments: { message: `${label}/${n}` } })
    ),
  ]);
  assert.deepEqual(
    echoes.map((result) => result.content),
    [1, 2, 3].map((n) => [{ type: "text", text: `Echo: ${label}/${n}` }]),
  );
  assert.match(JSON.stringify(long.content), /Long running operation completed/);
  // Another client's progress (same token) would show up as repeats. The SDK client may drop
  // the last step, which races the result (see server_everything_test.ts).
  assert.deepEqual(progress, [1, 2, 3].slice(0, progress.length), `${label}: ${progress}`);
  assert.ok(progress.length >= STEPS - 1, `${label}: ${progress}`);
}

async function concurrentClients(proxy: ServedProxy, count: number) {
  const clients = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const kind = i % 2 === 0 ? "mcp" : "sse";
      return connectClient(proxy[kind].default, kind, { name: `client-${i}` });
    }),
  );
  try {
    await Promise.all(clients.map((client, i) => exercise(client, `client-${i}`)));
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

Deno.test("two, then twenty concurrent clients with the same request ids get only their own traffic", async (t) => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  await t.step("2 clients", () => concurrentClients(proxy, 2));
  await t.step("20 clients (10 over /mcp, 10 over /sse)", () => concurrentClients(proxy, 20));
});
