/**
 * Connection limits on the real process (issue 16, point 1): connections that send nothing, or
 * stop halfway through a request, are closed; a flood of them beyond the descriptor limit is
 * shed while established clients are served; beyond --max-connections clients get 503; and a
 * quiet event stream is not mistaken for an idle connection.
 */
import assert from "node:assert/strict";
import { openRaw, type RawConnection, STALLED_REQUESTS } from "../support/raw_connections.ts";
import { INITIALIZE, post, SseReader } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";
import { eventually } from "../support/eventually.ts";

/** Generous bound for things that must happen at all (the timeouts below are 1 s). */
const PATIENCE_MS = 20_000;

/** Whether `promise` settles within `ms`. */
async function settles(promise: Promise<unknown>, ms = PATIENCE_MS): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

const SHORT_TIMEOUTS = [
  "--header-timeout",
  "1",
  "--body-timeout",
  "1",
  "--keep-alive-timeout",
  "1",
];

Deno.test("idle, half-sent, stalled-body and idle keep-alive connections are closed", async () => {
  await using proxy = await startServerProxy([...SHORT_TIMEOUTS, "--", "node", FIXTURE]);
  const host = new URL(proxy.base).host;
  const stalled = await Promise.all(
    Object.entries(STALLED_REQUESTS).map(async ([kind, head]) =>
      [kind, await openRaw(proxy.base, head(host))] as const
    ),
  );
  const kept = await openRaw(proxy.base);
  assert.equal(await kept.get("/status"), 200);
  const open: string[] = [];
  for (const [kind, connection] of [...stalled, ["idle keep-alive", kept] as const]) {
    if (!await settles(connection.closedByServer)) open.push(kind);
    connection.close();
  }
  assert.deepEqual(open, [], `still open: ${open.join(", ")}`);
  assert.equal((await fetch(`${proxy.base}/status`)).status, 200);
});

Deno.test("a quiet SSE stream outlives the keep-alive and header timeouts", async () => {
  await using proxy = await startServerProxy([...SHORT_TIMEOUTS, "--", "node", FIXTURE]);
  const events = new SseReader((await fetch(proxy.sse.default)).body!);
  const messages = new URL((await events.next())!.data, proxy.base).href;
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const accepted = await post(messages, INITIALIZE);
  await accepted.body?.cancel();
  assert.equal(accepted.status, 202);
  assert.equal((await events.nextMessage()).id, INITIALIZE.id);
  await events.cancel();
});

Deno.test({
  name: "connections beyond --max-connections get 503 and are closed",
  // The executables tested through MCP_PROXY_BIN are Bun builds, which have no cap (README).
  ignore: Deno.env.get("MCP_PROXY_BIN") !== undefined,
}, async () => {
  await using proxy = await startServerProxy(["--max-connections", "3", "--", "node", FIXTURE]);
  const held = await Promise.all([1, 2, 3].map(() => openRaw(proxy.base)));
  // Accepting is asynchronous: the proxy has counted the three once the fourth is refused.
  const extra = await openRaw(proxy.base);
  assert.ok(await settles(extra.closedByServer), "the fourth connection stayed open");
  assert.match(extra.received(), /^HTTP\/1\.1 503 /);
  for (const connection of held) connection.close();
  let status = NaN;
  for (let i = 0; i < 100 && status !== 200; i++) {
    const response = await fetch(`${proxy.base}/status`).catch(() => undefined);
    await response?.body?.cancel();
    status = response?.status ?? NaN;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(status, 200, "no room again once the held connections closed");
});

Deno.test("a descriptor flood is shed while an established client is served", async () => {
  // Far fewer descriptors than connections: without shedding, accept fails with EMFILE.
  await using proxy = await startServerProxy(
    ["--header-timeout", "2", "--keep-alive-timeout", "60", "--", "node", FIXTURE],
    { fdLimit: 256 },
  );
  const established = await openRaw(proxy.base);
  assert.equal(await established.get("/status"), 200);

  const flood: RawConnection[] = [];
  for (let i = 0; i < 600; i++) {
    flood.push(await openRaw(proxy.base));
    if (i % 100 === 99) assert.equal(await established.get("/status"), 200, `after ${i + 1}`);
  }

  // Bun sheds nothing on EMFILE: the queued connections are accepted (and time out) as
  // descriptors free up, in rounds of its coarse idle timer.
  const unclosed = (await Promise.all(flood.map((c) => settles(c.closedByServer, 3 * PATIENCE_MS))))
    .filter((closed) => !closed).length;
  for (const connection of flood) connection.close();
  assert.equal(unclosed, 0, `${unclosed} flood connections still open`);
  assert.equal(await settles(proxy.process.exited, 0), false, "the proxy exited");
  // The flood's descriptors are freed as the proxy notices their close: a new connection may
  // still be shed for a moment, and then it is served.
  await eventually(async () => {
    const fresh = await fetch(`${proxy.base}/status`).catch(() => undefined);
    await fresh?.body?.cancel();
    return fresh?.status === 200;
  }, "a new connection is served once the flood is gone");
  established.close();
});
