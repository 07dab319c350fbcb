/**
 * The load-balancer recipes of deploy/ on real balancers: three mcp-proxy instances behind
 * HAProxy (routing by instance, then plain round robin with `--peer-url`) and nginx, used by
 * SDK 1.x clients over Streamable HTTP and SSE and SDK v2 clients in the 2026-07-28 era (a
 * two-round MRTR call, a subscriptions/listen stream); then one instance drained by SIGTERM
 * while calls run.
 * @module
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import {
  instanceOfSession,
  type ScaleOut,
  type ScaleOutOptions,
  startScaleOut,
} from "../support/load_balancer.ts";
import { type Client, connectClient } from "../support/mcp_client.ts";
import {
  connectModernClient,
  envelope,
  type ModernClient,
  modernPost,
} from "../support/modern_client.ts";
import type { StreamableHTTPClientTransport } from "../support/sdk.ts";

type Content = { content: { type: string; text: string }[] };
const textOf = (result: unknown) => (result as Content).content[0].text;

/** How many clients of each kind. */
const CLIENTS = 6;
/** Echo calls per client. */
const CALLS = 8;

/** The instance a Streamable HTTP client's session is on. */
const sessionInstance = (client: Client) =>
  instanceOfSession((client.transport as StreamableHTTPClientTransport).sessionId);

/** `CALLS` echo calls of `client`, each checked for its own text. */
async function echoes(client: Client | ModernClient, label: string): Promise<void> {
  for (let j = 0; j < CALLS; j++) {
    const text = `${label}:${j}`;
    assert.equal(textOf(await client.callTool({ name: "echo", arguments: { text } })), text);
  }
}

/** A modern client that answers every elicitation, and counts its list changes. */
async function modernClient(url: string, label: string) {
  const changes: string[] = [];
  let asked = 0;
  const client = await connectModernClient(url, {
    capabilities: { elicitation: {} },
    setup: (modern) => {
      modern.setRequestHandler(
        "elicitation/create",
        () => Promise.resolve({ action: "accept", content: { name: `${label} ${++asked}` } }),
      );
      modern.setNotificationHandler("notifications/tools/list_changed", () => {
        changes.push("tools");
      });
    },
  });
  return { client, changes, label };
}

/** The `--log-level DEBUG` line an instance writes for each request it forwards. */
const FORWARDED = /Forwarded \w+ \S+ to instance/g;
const forwardedCount = (cluster: ScaleOut) =>
  cluster.instances.reduce(
    (sum, { process }) => sum + (process.stderr.match(FORWARDED)?.length ?? 0),
    0,
  );

/**
 * What a balancer that routes by instance shows once the legacy clients are done: their
 * sessions and /sse streams on every instance (its round robin spread them), and not one of
 * their requests forwarded (each reached the instance that holds it).
 */
async function routedLegacy(cluster: ScaleOut, sessions: (string | undefined)[]): Promise<void> {
  assert.deepEqual(new Set(sessions), new Set(cluster.instances.map(({ id }) => id)));
  const streams = await Promise.all(cluster.instances.map(async ({ base }) => {
    const status = await (await fetch(`${base}/status`)).json();
    return status.active_sse_connections as number;
  }));
  assert.equal(streams.reduce((a, b) => a + b), CLIENTS);
  assert.ok(streams.every((count) => count > 0), `/sse streams per instance: ${streams}`);
  assert.equal(forwardedCount(cluster), 0, "a legacy request was forwarded");
}

/**
 * Every kind of client through the balancer: legacy sessions over Streamable HTTP and SSE
 * (their calls), then modern clients (a listen stream each, a touch on every instance behind
 * the balancer's back, and a two-round MRTR call). `afterLegacy` runs between the two, given
 * the instances of the Streamable HTTP sessions.
 */
async function everyClient(
  cluster: ScaleOut,
  afterLegacy: (sessions: (string | undefined)[]) => Promise<void>,
): Promise<void> {
  const http: Client[] = [];
  const sse: Client[] = [];
  const modern: Awaited<ReturnType<typeof modernClient>>[] = [];
  try {
    // One by one, so that the balancer's round robin spreads them over every instance.
    for (let i = 0; i < CLIENTS; i++) {
      http.push(await connectClient(cluster.mcp, "mcp", { name: `http-${i}` }));
      sse.push(await connectClient(cluster.sse, "sse", { name: `sse-${i}` }));
    }
    await Promise.all([
      ...http.map((client, i) => echoes(client, `http-${i}`)),
      ...sse.map((client, i) => echoes(client, `sse-${i}`)),
    ]);
    await afterLegacy(http.map(sessionInstance));

    for (let i = 0; i < 3; i++) modern.push(await modernClient(cluster.mcp, `modern-${i}`));
    const listening = await Promise.all(
      modern.map(({ client }) => client.listen({ toolsListChanged: true })),
    );
    // Each instance's child announces a change to the listen streams of that instance only.
    for (const { base } of cluster.instances) {
      const touched = await modernPost(`${base}/mcp`, {
        id: 1,
        method: "tools/call",
        params: { name: "touch", arguments: {}, _meta: envelope() },
      });
      assert.equal(textOf(touched.body.result), "touched");
    }
    await eventually(
      () => modern.every(({ changes }) => changes.length > 0),
      "every listen stream has its instance's change",
    );
    assert.deepEqual(modern.map(({ changes }) => changes), modern.map(() => ["tools"]));

    await Promise.all(modern.map(async ({ client, label }) => {
      await echoes(client, label);
      // A progress token tells the child's question apart from the other sessions' calls.
      const result = await client.callTool({ name: "ask", arguments: { rounds: 2 } }, {
        onprogress: () => {},
      });
      assert.deepEqual(
        JSON.parse(textOf(result)).map((reply: { content: unknown }) => reply.content),
        [{ name: `${label} 1` }, { name: `${label} 2` }],
      );
    }));
    await Promise.all(listening.map((subscription) => subscription.close()));
  } finally {
    await Promise.all(
      [...http, ...sse, ...modern.map(({ client }) => client)].map((c) => c.close()),
    );
  }
}

/** Three instances behind `options.balancer`, logging at DEBUG (their forwarded requests). */
function cluster(options: ScaleOutOptions) {
  return startScaleOut({ ...options, extraArgs: ["--log-level", "DEBUG"] });
}

Deno.test("HAProxy routing by instance: every call of every client reaches its instance, none forwarded", async () => {
  // No --peer-url: a request HAProxy sent to the wrong instance would fail.
  await using lb = await cluster({ balancer: "haproxy" });
  await everyClient(lb, (sessions) => routedLegacy(lb, sessions));
});

Deno.test("nginx routing by session: legacy clients reach their instance, MRTR rounds are forwarded", async () => {
  await using lb = await cluster({ balancer: "nginx", forward: true });
  await everyClient(lb, (sessions) => routedLegacy(lb, sessions));
});

Deno.test("HAProxy round robin with --peer-url: every call answered, through forwarding", async () => {
  await using lb = await cluster({ balancer: "haproxy-round-robin", forward: true });
  await everyClient(lb, () => {
    assert.ok(forwardedCount(lb) > 0, "no legacy request was forwarded");
    return Promise.resolve();
  });
});

Deno.test("SIGTERM with --drain-timeout behind HAProxy: surviving sessions never fail, the drained instance's calls finish, later ones get an error, new sessions land elsewhere", async () => {
  await using lb = await cluster({ balancer: "haproxy", drainTimeoutS: 5 });
  const drained = lb.instances[0];
  const clients: Client[] = [];
  const fresh: Client[] = [];
  try {
    for (let i = 0; i < 9; i++) clients.push(await connectClient(lb.mcp, "mcp"));
    const onDrained = clients.filter((client) => sessionInstance(client) === drained.id);
    const survivors = clients.filter((client) => sessionInstance(client) !== drained.id);
    assert.equal(onDrained.length, 3);

    // Settled, not awaited, so that a failure before they end still reports them all.
    const slow = Promise.allSettled(
      clients.map((client) =>
        client.callTool({ name: "sleep", arguments: { ms: 1_500 } }).then(textOf)
      ),
    );
    // The drained instance's child runs them all before the instance hears SIGTERM.
    await eventually(
      () => drained.process.stderr.split("sleep started").length - 1 === onDrained.length,
      "the drained instance's sleep calls run",
    );
    drained.process.child.kill("SIGTERM");
    // New sessions, at once (HAProxy may not know yet) and later: none on the drained instance.
    for (let i = 0; i < 6; i++) fresh.push(await connectClient(lb.mcp, "mcp"));
    assert.ok(fresh.every((client) => sessionInstance(client) !== drained.id));
    const during = Promise.allSettled(
      [...survivors, ...fresh].map((client, i) => echoes(client, `during-${i}`)),
    );

    const fulfilled = (value: unknown) => ({ status: "fulfilled", value });
    assert.deepEqual(await slow, clients.map(() => fulfilled("slept")));
    assert.deepEqual(await during, [...survivors, ...fresh].map(() => fulfilled(undefined)));
    await Promise.all(onDrained.map((client, i) => echoes(client, `drained-${i}`)));

    const status = await drained.process.exited;
    assert.equal(status.code, 0, drained.process.stderr);
    for (const client of onDrained) {
      await assert.rejects(
        client.callTool({ name: "echo", arguments: { text: "gone" } }),
        /-32001|[Ss]ession not found/,
      );
    }
    await Promise.all(survivors.map((client, i) => echoes(client, `after-${i}`)));
  } finally {
    await Promise.all([...clients, ...fresh].map((client) => client.close()));
  }
});
