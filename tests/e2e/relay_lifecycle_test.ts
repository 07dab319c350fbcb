// deno-lint-ignore-file no-explicit-any -- tests dig into arbitrary JSON results
/**
 * The child's life cycle behind a shared server: death mid-call, restart, failure to start,
 * and a stop that leaves no process behind.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { createSharedServer } from "../../src/server/child/shared_server.ts";
import { TestClient } from "../support/relay_client.ts";
import {
  childEnv,
  FIXTURE_SERVER,
  fixtureConfig,
  testOptions,
  withServer,
} from "../support/relay_servers.ts";

function toolJson(result: any): any {
  return JSON.parse(result.content[0].text);
}

/** Whether `pid` is a live process (not gone, not a zombie). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** A shell command line that runs the fixture server under `sh`. */
function fixtureUnderShell(script: string) {
  const fixture = `'${Deno.execPath()}' run --quiet --no-check '${FIXTURE_SERVER}'`;
  return { ...fixtureConfig(), command: "sh", args: ["-c", script.replace("FIXTURE", fixture)] };
}

Deno.test("a child killed mid-call: the caller gets an error at once, the next call succeeds after the restart", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const client = new TestClient(server);
    await client.request("sub", "resources/subscribe", { uri: "file:///kept" });
    await client.request("lvl", "logging/setLevel", { level: "warning" });
    const pid = toolJson(await client.request("pid", "tools/call", { name: "pid" }));
    const pending = client.call("slow", "tools/call", { name: "wait" });
    await client.request("ping", "tools/call", { name: "stats" }); // the wait is upstream now
    const killedAt = Date.now();
    Deno.kill(pid, "SIGKILL");
    const response = await pending;
    const elapsed = Date.now() - killedAt;
    assert.equal(response.error.code, -32000);
    assert.match(response.error.message, /MCP server 'fixture' exited \(signal SIGKILL\)/);
    assert.ok(elapsed < 1_000, `error after ${elapsed} ms`);
    const delivered = client.received.find((r) => r.message.id === "slow");
    assert.equal(delivered?.relatedRequestId, "slow", "on the request's own stream");
    assert.notEqual(server.state, "running");

    // Sent while restarting: waits for the new child.
    const after = await client.request("after", "tools/call", { name: "stats" });
    assert.equal(server.state, "running");
    const seen = toolJson(after);
    assert.equal(seen.initializeCount, 1, "the new child was initialised");
    assert.deepEqual(seen.subscribed, ["file:///kept"], "subscriptions re-applied");
    assert.deepEqual(seen.logLevels, ["warning"], "log level re-applied");
    const newPid = toolJson(await client.request("pid2", "tools/call", { name: "pid" }));
    assert.notEqual(newPid, pid);
    assert.deepEqual(
      await client.request("init", "initialize", {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      }).then((r) => r.serverInfo.name),
      "relay-fixture",
    );
  });
});

Deno.test("a missing command: start() rejects naming it; requests get an error; stop() ends the retries", async () => {
  const server = createSharedServer(
    { name: "ghost", command: "mcp-proxy-no-such-command", args: [], env: childEnv() },
    testOptions(),
  );
  await assert.rejects(server.start(), /command 'mcp-proxy-no-such-command' not found/);
  assert.equal(server.state, "failed");
  const client = new TestClient(server);
  const response = await client.call(1, "tools/list");
  assert.equal(response.error.code, -32000);
  assert.match(response.error.message, /MCP server 'ghost' is not running/);
  await server.stop();
  assert.equal(server.state, "stopped");
});

Deno.test("a server that fails its first start keeps being retried and then serves", async () => {
  const marker = await Deno.makeTempFile();
  await Deno.remove(marker);
  const stderr: string[] = [];
  // It fails twice, each time a start of its own retried with backoff: exiting before any
  // answer, without quoting server/discover, is no sign of a legacy server exiting on the probe.
  const server = createSharedServer(
    fixtureUnderShell(
      `if [ -e '${marker}.2' ]; then exec FIXTURE; fi; ` +
        `if [ -e '${marker}' ]; then touch '${marker}.2'; else touch '${marker}'; fi; ` +
        `echo failing >&2; exit 1`,
    ),
    testOptions(stderr),
  );
  try {
    await assert.rejects(server.start(), /exited \(code 1\) before it was initialised/);
    await eventually(() => server.state === "running", "the retry succeeds");
    const client = new TestClient(server);
    assert.equal((await client.initialize()).serverInfo.name, "relay-fixture");
    assert.ok(stderr.includes("failing"));
  } finally {
    await server.stop();
    await Deno.remove(marker);
    await Deno.remove(`${marker}.2`);
  }
});

Deno.test("stop() leaves no process behind, grandchildren included", async () => {
  const pidFile = await Deno.makeTempFile();
  // One grandchild holds our pipes, the other ignores SIGTERM and has its output elsewhere.
  const config = fixtureUnderShell(
    `sleep 300 & echo $! > '${pidFile}'; ` +
      `(trap '' TERM; exec sleep 301) >/dev/null 2>&1 </dev/null & echo $! >> '${pidFile}'; exec FIXTURE`,
  );
  let pids: number[] = [];
  try {
    await withServer(config, async (server) => {
      const client = new TestClient(server);
      pids = (await Deno.readTextFile(pidFile)).trim().split("\n").map(Number);
      pids.push(toolJson(await client.request(1, "tools/call", { name: "pid" })));
      assert.equal(pids.length, 3);
      for (const pid of pids) assert.ok(await alive(pid), `${pid} runs before stop()`);
    });
    for (const pid of pids) await eventually(async () => !await alive(pid), `${pid} is gone`);
  } finally {
    await Deno.remove(pidFile);
  }
});

Deno.test("stop() escalates to SIGTERM and SIGKILL for a child that ignores stdin EOF and SIGTERM", async () => {
  const pidFile = await Deno.makeTempFile();
  // sh ignores SIGTERM, runs the fixture, and after it lingers on.
  const config = fixtureUnderShell(`trap '' TERM; echo $$ > '${pidFile}'; FIXTURE; sleep 300`);
  const server = createSharedServer(config, { ...testOptions(), stopGraceMs: 200 });
  await server.start();
  const shellPid = Number((await Deno.readTextFile(pidFile)).trim());
  assert.ok(await alive(shellPid));
  await server.stop();
  assert.equal(server.state, "stopped");
  assert.equal(await alive(shellPid), false);
  await Deno.remove(pidFile);
});
