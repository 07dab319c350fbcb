/**
 * The gateway keys of the named-server config file and `--aggregate` / `--watch-config`, parsed
 * in-process: what each key becomes, and the start-up error each mistake gets.
 */
import assert from "node:assert/strict";
import type { ServerSettings } from "../../../src/config.ts";
import { settingsFor } from "../../support/settings.ts";

const CONFIG_PATH = "/etc/servers.json";

/** The outcome of starting with `config` as the config file, and `flags`. */
function withFile(config: unknown, flags: string[] = []) {
  return settingsFor(["--named-server-config", CONFIG_PATH, ...flags], {
    env: { PATH: "/bin" },
    files: { [CONFIG_PATH]: JSON.stringify(config) },
  });
}

async function serverSettings(config: unknown, flags: string[] = []): Promise<ServerSettings> {
  const outcome = await withFile(config, flags);
  assert.equal(outcome.kind, "settings", JSON.stringify(outcome));
  if (outcome.kind !== "settings" || outcome.settings.mode !== "server") throw new Error();
  return outcome.settings;
}

/** Asserts that `config` stops the start with exit code 1 and a log line matching `logged`. */
async function refused(config: unknown, logged: RegExp): Promise<void> {
  const outcome = await withFile(config);
  assert.equal(outcome.kind, "error", JSON.stringify(outcome));
  if (outcome.kind !== "error") return;
  assert.equal(outcome.exitCode, 1);
  assert.ok(outcome.logs.some((line) => logged.test(line)), outcome.logs.join("\n"));
}

Deno.test("gateway keys: filters, isolation and prefix become the server's settings", async () => {
  const settings = await serverSettings({
    aggregate: { servers: ["b", "a.b"], separator: "--" },
    mcpServers: {
      "a.b": {
        command: "x",
        tools: { allow: ["get_*"], deny: ["get_secret"] },
        resources: { deny: ["file:///etc/*"] },
        readOnly: true,
      },
      b: {
        command: "y",
        prefix: "bee",
        isolation: "header:X-User",
        headerEnv: { "X-Token": "API_TOKEN" },
        maxChildren: 3,
        idleTimeout: 1.5,
      },
    },
  });
  const [ab, b] = settings.namedServers;
  assert.equal(ab.prefix, "a_b");
  assert.deepEqual(ab.filters, {
    tools: { allow: ["get_*"], deny: ["get_secret"] },
    prompts: undefined,
    resources: { allow: undefined, deny: ["file:///etc/*"] },
    readOnly: true,
  });
  assert.equal(ab.isolation, undefined);
  assert.equal(b.prefix, "bee");
  assert.deepEqual(b.isolation, {
    isolation: { kind: "header", header: "x-user" },
    maxChildren: 3,
    idleTimeoutMs: 1500,
    headerEnv: { "x-token": "API_TOKEN" },
  });
  assert.deepEqual(settings.aggregate, { servers: ["b", "a.b"], separator: "--" });
  assert.equal(settings.configSource?.path, CONFIG_PATH);
  assert.equal(settings.configSource?.watch, false);
});

Deno.test("gateway keys: a mistake stops the start, naming the server and the key", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    [
      "headerEnv without isolation",
      { mcpServers: { s: { command: "x", headerEnv: { "X-Token": "T" } } } },
      /Named server 's': "headerEnv" needs "isolation"/,
    ],
    [
      "maxChildren without isolation",
      { mcpServers: { s: { command: "x", maxChildren: 2 } } },
      /"maxChildren" needs "isolation"/,
    ],
    [
      "an unknown isolation",
      { mcpServers: { s: { command: "x", isolation: "user" } } },
      /"isolation" is "user"; it must be "shared", "session" or "header:NAME"/,
    ],
    [
      "a header that is no header name",
      { mcpServers: { s: { command: "x", isolation: "header:X User" } } },
      /invalid header "X User"/,
    ],
    [
      "a variable name that is no variable name",
      { mcpServers: { s: { command: "x", isolation: "session", headerEnv: { "X-T": "1A" } } } },
      /maps X-T to an invalid variable name/,
    ],
    [
      "maxChildren 0",
      { mcpServers: { s: { command: "x", isolation: "session", maxChildren: 0 } } },
      /"maxChildren" must be a whole number of at least 1/,
    ],
    [
      "a filter that is a list",
      { mcpServers: { s: { command: "x", tools: ["a"] } } },
      /"tools" must be an object with "allow" and\/or "deny" lists/,
    ],
    [
      "an unknown filter key",
      { mcpServers: { s: { command: "x", tools: { only: ["a"] } } } },
      /"tools" has an unknown key "only"/,
    ],
    [
      "a prefix with a space",
      { mcpServers: { s: { command: "x", prefix: "my tools" } } },
      /"prefix" must be 1 to 64 letters/,
    ],
    [
      "an aggregate naming a server the file has not",
      { aggregate: { servers: ["nope"] }, mcpServers: { s: { command: "x" } } },
      /"aggregate.servers" names 'nope'/,
    ],
    [
      "prefixes whose names could meet",
      {
        aggregate: true,
        mcpServers: { a: { command: "x" }, b: { command: "y", prefix: "a__b" } },
      },
      /Servers 'a' and 'b' would share tool names in the aggregate/,
    ],
  ];
  for (const [label, config, logged] of cases) {
    await t.step(label, () => refused(config, logged));
  }
});

Deno.test("--aggregate serves every named server; not beside a default server", async () => {
  const settings = await serverSettings(
    { mcpServers: { one: { command: "x" }, two: { command: "y" } } },
    ["--aggregate"],
  );
  assert.deepEqual(settings.aggregate, { servers: ["one", "two"], separator: "__" });

  const beside = await settingsFor(["--aggregate", "--named-server", "one", "x", "root-cmd"]);
  assert.equal(beside.kind, "error");
  if (beside.kind === "error") {
    assert.equal(beside.exitCode, 2);
    assert.match(beside.message, /served at \/mcp and \/sse, where the server given/);
  }
});

Deno.test("--watch-config needs a config file; with one, a reload reads it again", async () => {
  const alone = await settingsFor(["--watch-config", "--named-server", "one", "x"]);
  assert.equal(alone.kind, "error");
  if (alone.kind === "error") assert.match(alone.message, /--watch-config needs/);

  const files: Record<string, string> = {
    [CONFIG_PATH]: JSON.stringify({ mcpServers: { one: { command: "x" } } }),
  };
  const outcome = await settingsFor(["--named-server-config", CONFIG_PATH, "--watch-config"], {
    env: { PATH: "/bin" },
    files,
  });
  assert.equal(outcome.kind, "settings");
  if (outcome.kind !== "settings" || outcome.settings.mode !== "server") return;
  const source = outcome.settings.configSource!;
  assert.equal(source.watch, true);
  files[CONFIG_PATH] = JSON.stringify({ mcpServers: { two: { command: "y" } } });
  const next = await source.load();
  assert.deepEqual(next.namedServers.map((server) => server.name), ["two"]);
  files[CONFIG_PATH] = "{";
  await assert.rejects(source.load());
});
