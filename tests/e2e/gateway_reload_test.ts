/**
 * Reloading the named-server config file on the real process: SIGHUP and `--watch-config`
 * add, remove and change servers while clients call the unchanged ones, none of whose calls
 * fail; a file that cannot be used keeps the running configuration.
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { allPages } from "../support/pages.ts";
import { mcpTypes } from "../support/sdk.ts";
import { eventually } from "../support/eventually.ts";
import { ROOT } from "../support/paths.ts";
import { alive, readPids } from "../support/pids.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";
import { temporaryFolder } from "../support/temp_dir.ts";

const GATEWAY = `${ROOT}tests/fixtures/gateway_server.mjs`;

/** A config entry running the fixture under `serverName`, with its extra `args`. */
function fixture(serverName: string, ...args: string[]) {
  return { command: "node", args: [FIXTURE, "--server-name", serverName, ...args] };
}

/** Writes the config file of `servers`, with the file's other top-level keys in `extra`. */
async function writeConfig(
  path: string,
  servers: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  // Written aside and renamed over, as editors do: a watcher never reads half a file.
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify({ ...extra, mcpServers: servers }));
  await Deno.rename(`${path}.tmp`, path);
}

async function serverStates(base: string): Promise<Record<string, string>> {
  const response = await fetch(`${base}/status`);
  return (await response.json()).server_instances;
}

/** Calls `tool` on `url` over and over until `stop` is called; counts calls and failures. */
async function callUntilStopped(url: string, kind: "mcp" | "sse", tool = "alpha") {
  const client = await connectClient(url, kind);
  const counts = { calls: 0, failures: [] as string[] };
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const result = await client.callTool({ name: tool, arguments: {} });
        assert.deepEqual(result.content, [{ type: "text", text: "called alpha" }]);
        counts.calls++;
      } catch (error) {
        counts.failures.push(String(error));
      }
    }
  })();
  return {
    counts,
    async stop() {
      running = false;
      await loop;
      await client.close();
    },
  };
}

Deno.test("SIGHUP adds, removes and changes servers; calls on the unchanged one never fail", async () => {
  await using folder = await temporaryFolder();
  const dir = folder.path;
  const config = `${dir}/servers.json`;
  const gonePids = `${dir}/gone.pids`;
  await writeConfig(config, {
    keep: fixture("keep"),
    gone: fixture("gone", "--grandchild", gonePids),
    change: fixture("change-1"),
  });
  await using proxy = await startServerProxy(["--named-server-config", config]);
  const [goneChild] = await readPids(gonePids);
  const loads = [
    await callUntilStopped(proxy.mcp.keep, "mcp"),
    await callUntilStopped(proxy.sse.keep, "sse"),
  ];
  const before = await connectClient(proxy.mcp.change, "mcp");
  assert.equal(before.getServerVersion()?.name, "change-1");
  await before.close();

  await writeConfig(config, {
    keep: fixture("keep"),
    change: fixture("change-2"),
    added: fixture("added"),
  });
  proxy.process.child.kill("SIGHUP");
  await proxy.process.waitForStderr(
    /Configuration reloaded: added 'added', removed 'gone', restarted 'change', 1 unchanged/,
  );
  await eventually(
    async () => (await serverStates(proxy.base)).added === "running",
    "the added server runs",
  );
  assert.deepEqual(Object.keys(await serverStates(proxy.base)).sort(), ["added", "change", "keep"]);

  const changed = await connectClient(proxy.mcp.change, "mcp");
  assert.equal(changed.getServerVersion()?.name, "change-2");
  await changed.close();
  const added = await connectClient(proxy.mcp.keep.replace("/keep/", "/added/"), "mcp");
  assert.equal(added.getServerVersion()?.name, "added");
  await added.close();
  const goneAnswer = await fetch(proxy.mcp.keep.replace("/keep/", "/gone/"), { method: "POST" });
  assert.equal(goneAnswer.status, 404);
  await goneAnswer.body?.cancel();
  // Its sessions all ended, the removed server's child is stopped.
  await eventually(async () => !(await alive(goneChild)), "the removed server's child is gone");

  for (const load of loads) await load.stop();
  for (const { counts } of loads) {
    assert.deepEqual(counts.failures, []);
    assert.ok(counts.calls > 0);
  }
  await proxy.stop();
});

Deno.test("--watch-config: a changed file is applied; a broken one keeps what runs", async () => {
  await using folder = await temporaryFolder();
  const dir = folder.path;
  const config = `${dir}/servers.json`;
  await writeConfig(config, { one: fixture("one") });
  await using proxy = await startServerProxy([
    "--named-server-config",
    config,
    "--watch-config",
  ]);

  await Deno.writeTextFile(config, '{"mcpServers": {"one": ');
  await proxy.process.waitForStderr(/Could not reload .*servers\.json.*Keeping the running/);
  assert.deepEqual(await serverStates(proxy.base), { one: "running" });
  const client = await connectClient(proxy.mcp.one, "mcp");
  assert.equal((await client.listTools()).tools[0].name, "alpha");

  await writeConfig(config, { one: fixture("one"), two: fixture("two") });
  await eventually(
    async () => (await serverStates(proxy.base)).two === "running",
    "the server added to the watched file runs",
  );
  // The unchanged server kept its session.
  assert.equal((await client.callTool({ name: "beta", arguments: {} })).isError, undefined);
  await client.close();
  await proxy.stop();
});

Deno.test("a reload changes the aggregate's servers: its clients are told, its calls go on", async () => {
  await using folder = await temporaryFolder();
  const dir = folder.path;
  const config = `${dir}/servers.json`;
  const aggregateOf = (servers: Record<string, unknown>) =>
    writeConfig(config, servers, { aggregate: true });
  // `gone` has a tool that takes a while: `progress`, 10 ms a step.
  await aggregateOf({ one: fixture("one"), gone: { command: "node", args: [GATEWAY, "gone"] } });
  await using proxy = await startServerProxy(["--named-server-config", config]);
  let changes = 0;
  const client = await connectClient(proxy.mcp.default, "mcp", {
    setup: (c) =>
      c.setNotificationHandler(mcpTypes.ToolListChangedNotificationSchema, () => void changes++),
  });
  const names = async () => {
    const pages = await allPages(
      (cursor) => client.listTools(cursor === undefined ? {} : { cursor }),
      (page) => page.tools.map((tool) => tool.name.split("__")[0]),
    );
    return new Set(pages.flat());
  };
  assert.deepEqual(await names(), new Set(["one", "gone"]));
  const load = await callUntilStopped(proxy.mcp.default, "mcp", "one__alpha");
  // A call running on the server the reload removes: it finishes there.
  const started = Promise.withResolvers<void>();
  const running = client.callTool(
    { name: "gone__progress", arguments: { steps: 150 } },
    undefined,
    { onprogress: () => started.resolve() },
  );
  await started.promise;

  await aggregateOf({ one: fixture("one"), two: fixture("two") });
  proxy.process.child.kill("SIGHUP");
  await proxy.process.waitForStderr(/Configuration reloaded: added 'two', removed 'gone'/);
  assert.deepEqual((await running).content, [{ type: "text", text: "gone: 150 steps" }]);
  await eventually(async () => (await names()).has("two"), "the added server's tools are listed");
  assert.deepEqual(await names(), new Set(["one", "two"]));
  assert.ok(changes > 0, "the aggregate's client was told its tools changed");
  const status = await (await fetch(`${proxy.base}/status`)).json();
  assert.deepEqual(Object.keys(status.aggregate.servers), ["one", "two"]);

  await load.stop();
  assert.deepEqual(load.counts.failures, []);
  assert.ok(load.counts.calls > 0);
  await client.close();
  await proxy.stop();
});
