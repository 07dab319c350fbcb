/**
 * A child per user, in process over real children (tests/fixtures/env_echo_server.mjs): who
 * shares a child, what each child is given, refusals, and when children are stopped.
 */
import assert from "node:assert/strict";
import {
  DEFAULT_CHILD_IDLE_MS,
  DEFAULT_MAX_CHILDREN,
  type IsolationSettings,
} from "../../../../src/config.ts";
import { type SessionOpening, SessionRefused } from "../../../../src/core/types.ts";
import { setLogSink } from "../../../../src/io/log.ts";
import {
  createIsolatedServer,
  type IsolatedServer,
} from "../../../../src/server/child/isolated_server.ts";
import { eventually } from "../../../support/eventually.ts";
import { ROOT } from "../../../support/paths.ts";
import { alive, survivors } from "../../../support/pids.ts";
import { TestClient } from "../../../support/relay_client.ts";
import { childEnv, testOptions } from "../../../support/relay_servers.ts";

const ENV_ECHO = `${ROOT}tests/fixtures/env_echo_server.mjs`;

/** Who answered a `whoami`: the child's pid and its API_TOKEN. */
interface Whoami {
  pid: number;
  token: string | null;
}

/** An isolated server of the env-echo fixture, `settings` over the defaults; always stopped. */
async function withIsolated(
  settings: Partial<IsolationSettings>,
  body: (server: IsolatedServer) => void | Promise<void>,
): Promise<void> {
  const server = createIsolatedServer({
    name: "echo",
    command: "node",
    args: [ENV_ECHO, "API_TOKEN"],
    // The proxy's own token, which a user without one must never get.
    env: { ...childEnv(), API_TOKEN: "the-proxy's-own" },
    isolation: {
      isolation: { kind: "header", header: "x-user" },
      maxChildren: DEFAULT_MAX_CHILDREN,
      idleTimeoutMs: DEFAULT_CHILD_IDLE_MS,
      headerEnv: { "x-user-token": "API_TOKEN" },
      ...settings,
    },
  }, { ...testOptions(), onStderrLine: () => {} });
  try {
    await server.start();
    await body(server);
  } finally {
    await server.stop();
  }
}

/** A client of `server` whose opening request carried `headers`. */
function clientWith(
  server: IsolatedServer,
  headers: Record<string, string>,
  opening: Omit<SessionOpening, "headers"> = {},
): TestClient {
  return new TestClient(server, undefined, { ...opening, headers: new Headers(headers) });
}

/** The client's child, as its `whoami` tool tells. */
async function whoami(client: TestClient): Promise<Whoami> {
  const result = await client.request(crypto.randomUUID(), "tools/call", { name: "whoami" });
  const { pid, env } = JSON.parse(result.content[0].text);
  return { pid, token: env.API_TOKEN };
}

/** The refusal `open` throws. */
function refusal(open: () => unknown): SessionRefused {
  try {
    open();
  } catch (error) {
    if (error instanceof SessionRefused) return error;
    throw error;
  }
  throw new Error("the session was not refused");
}

Deno.test("header isolation: a child per user and credential, shared by that user's sessions", async () => {
  const logged: string[] = [];
  const restoreLog = setLogSink((line) => logged.push(line));
  try {
    await withIsolated({}, async (server) => {
      assert.equal(server.state, "running");
      assert.equal(server.children, 0, "no child before a client");
      const alice = clientWith(server, { "x-user": "alice", "x-user-token": "alice-secret" });
      const bob = clientWith(server, { "x-user": "bob", "x-user-token": "bob-secret" });
      // The same name with another credential is another user.
      const mallory = clientWith(server, { "x-user": "alice", "x-user-token": "guessed" });
      const aliceAgain = clientWith(server, { "x-user": "alice", "x-user-token": "alice-secret" });
      assert.equal(server.children, 3);

      // Asked before any child runs: the calls wait for their child.
      const [a, b, m, a2] = await Promise.all([alice, bob, mallory, aliceAgain].map(whoami));
      assert.equal(a.token, "alice-secret");
      assert.equal(b.token, "bob-secret");
      assert.equal(m.token, "guessed");
      assert.equal(a2.pid, a.pid, "one user's sessions share a child");
      assert.equal(new Set([a.pid, b.pid, m.pid]).size, 3, "users never share");
      assert.equal((await alice.initialize()).serverInfo.name, "env-echo");
      assert.equal(server.era, "legacy");

      // Modern requests are served too, by their user's child.
      const modern = clientWith(server, { "x-user": "bob", "x-user-token": "bob-secret" }, {
        modern: true,
      });
      assert.equal((await whoami(modern)).pid, b.pid);
      for (const client of [alice, bob, mallory, aliceAgain, modern]) client.session.close();
    });
  } finally {
    restoreLog();
  }
  const log = logged.join("\n");
  assert.match(log, /MCP server 'echo': starting a child for user [0-9a-f]{8} \(1 of at most/);
  for (const secret of ["alice", "bob", "secret", "guessed"]) {
    assert.ok(!log.includes(secret), `the log names '${secret}':\n${log}`);
  }
});

Deno.test("header isolation refuses a request without its header or a headerEnv header (400)", async () => {
  await withIsolated({}, (server) => {
    const noUser = refusal(() => clientWith(server, { "x-user-token": "t" }));
    assert.equal(noUser.status, 400);
    assert.match(noUser.message, /MCP server 'echo' runs a child per value of the x-user header/);
    const blank = refusal(() => clientWith(server, { "x-user": " ", "x-user-token": "t" }));
    assert.equal(blank.status, 400);
    const noToken = refusal(() => clientWith(server, { "x-user": "alice" }));
    assert.equal(noToken.status, 400);
    assert.match(noToken.message, /gives each user's child the x-user-token header as API_TOKEN/);
    assert.equal(refusal(() => server.openSession({ send() {} })).status, 400);
    assert.equal(server.children, 0);
  });
});

Deno.test("maxChildren: a new user past the cap gets 503; the users with a child go on", async () => {
  await withIsolated({ maxChildren: 1, headerEnv: {} }, async (server) => {
    const alice = clientWith(server, { "x-user": "alice" });
    const full = refusal(() => clientWith(server, { "x-user": "bob" }));
    assert.equal(full.status, 503);
    assert.equal(
      full.message,
      "MCP server 'echo' has 1 children, the most its config allows; try again later, or " +
        'raise "maxChildren" (1)',
    );
    const aliceAgain = clientWith(server, { "x-user": "alice" });
    assert.equal((await whoami(aliceAgain)).pid, (await whoami(alice)).pid);
    aliceAgain.session.close();
    alice.session.close();
  });
});

Deno.test("header isolation: an idle child is stopped, and the user's next session starts another", async () => {
  await withIsolated({ idleTimeoutMs: 300, headerEnv: {} }, async (server) => {
    const first = clientWith(server, { "x-user": "alice" });
    const { pid } = await whoami(first);
    first.session.close();
    first.session.close(); // twice: counted once
    // Reopened within the idle time: the same child.
    const second = clientWith(server, { "x-user": "alice" });
    assert.equal((await whoami(second)).pid, pid);
    second.session.close();
    await eventually(() => server.children === 0, "the idle child is stopped");
    assert.deepEqual(await survivors([pid]), []);
    const third = clientWith(server, { "x-user": "alice" });
    const next = await whoami(third);
    assert.notEqual(next.pid, pid);
    third.session.close();
  });
});

Deno.test("idleTimeout 0: a child is stopped when its user's last session closes", async () => {
  await withIsolated({ idleTimeoutMs: 0, headerEnv: {} }, async (server) => {
    const one = clientWith(server, { "x-user": "alice" });
    const two = clientWith(server, { "x-user": "alice" });
    const { pid } = await whoami(one);
    one.session.close();
    assert.equal(server.children, 1, "a session is still open");
    assert.ok(await alive(pid));
    two.session.close();
    assert.equal(server.children, 0);
    assert.deepEqual(await survivors([pid]), []);
  });
});

Deno.test("session isolation: a child per session, stopped with it; modern and --stateless requests refused (400)", async () => {
  await withIsolated({ isolation: { kind: "session" } }, async (server) => {
    const headers = { "x-user-token": "tok" };
    const one = clientWith(server, headers);
    const two = clientWith(server, headers);
    const [a, b] = await Promise.all([whoami(one), whoami(two)]);
    assert.notEqual(a.pid, b.pid);
    assert.equal(a.token, "tok");
    one.session.close();
    assert.equal(server.children, 1);
    assert.deepEqual(await survivors([a.pid]), []);
    assert.ok(await alive(b.pid));

    const modern = refusal(() => clientWith(server, headers, { modern: true }));
    assert.equal(modern.status, 400);
    assert.match(modern.message, /runs a child per session \("isolation": "session"\)/);
    assert.match(modern.message, /2026-07-28 requests do not have/);
    const stateless = refusal(() => clientWith(server, headers, { stateless: true }));
    assert.equal(stateless.status, 400);
    assert.match(stateless.message, /requests to \/mcp under --stateless do not have; use \/sse/);
    assert.equal(server.children, 1, "no child started for either");
    two.session.close();
  });
});

Deno.test("stop() stops every child, and later clients are refused", async () => {
  let pids: number[] = [];
  let stopped: IsolatedServer | undefined;
  await withIsolated({ headerEnv: {} }, async (server) => {
    stopped = server;
    const clients = ["a", "b", "c"].map((user) => clientWith(server, { "x-user": user }));
    pids = (await Promise.all(clients.map(whoami))).map((who) => who.pid);
  });
  assert.equal(stopped!.state, "stopped");
  assert.equal(stopped!.children, 0);
  assert.deepEqual(await survivors(pids), []);
  assert.equal(refusal(() => clientWith(stopped!, { "x-user": "a" })).status, 503);
});
