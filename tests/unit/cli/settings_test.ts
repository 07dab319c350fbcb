/**
 * Table-driven tests of every option and rule of the command line (the original's and ours),
 * parsed in-process.
 */
import assert from "node:assert/strict";
import { DEFAULT_SERVING_LIMITS } from "../../../src/config.ts";
import type { ClientSettings, ServerSettings } from "../../../src/config.ts";
import { type FakeWorld, settingsFor, type SettingsOutcome } from "../../support/settings.ts";

async function client(argv: string[], world?: FakeWorld): Promise<ClientSettings> {
  const outcome = await settingsFor(argv, world);
  assert.equal(outcome.kind, "settings", JSON.stringify(outcome));
  const { settings } = outcome as Extract<SettingsOutcome, { kind: "settings" }>;
  assert.equal(settings.mode, "client");
  return settings as ClientSettings;
}

async function server(argv: string[], world?: FakeWorld): Promise<ServerSettings> {
  const outcome = await settingsFor(argv, world);
  assert.equal(outcome.kind, "settings", JSON.stringify(outcome));
  const { settings } = outcome as Extract<SettingsOutcome, { kind: "settings" }>;
  assert.equal(settings.mode, "server");
  return settings as ServerSettings;
}

async function logsOf(argv: string[], world?: FakeWorld): Promise<string[]> {
  const outcome = await settingsFor(argv, world);
  assert.ok(outcome.kind !== "exit", JSON.stringify(outcome));
  return outcome.logs;
}

Deno.test("mode: an http:// or https:// prefix selects client mode, case-sensitively", async (t) => {
  const cases: [string[], "client" | "server"][] = [
    [["http://localhost:8080/sse"], "client"],
    [["https://example.com/mcp"], "client"],
    [["HTTP://localhost/sse"], "server"],
    [["httpx-server"], "server"],
    [["ftp://host"], "server"],
  ];
  for (const [argv, mode] of cases) {
    await t.step(`${argv.join(" ")} -> ${mode}`, async () => {
      const outcome = await settingsFor(argv);
      assert.equal(outcome.kind, "settings");
      if (outcome.kind === "settings") assert.equal(outcome.settings.mode, mode);
    });
  }
});

Deno.test("command_or_url defaults to the SSE_URL environment variable", async () => {
  const settings = await client([], { env: { SSE_URL: "http://from-env/sse" } });
  assert.equal(settings.url, "http://from-env/sse");
});

Deno.test("client options: transport, headers, API_ACCESS_TOKEN, OAuth", async (t) => {
  await t.step("transport is detected unless given", async () => {
    assert.equal((await client(["http://h/sse"])).transport, "auto");
    assert.equal((await client(["--transport", "sse", "http://h/sse"])).transport, "sse");
  });
  await t.step("--transport streamablehttp", async () => {
    const settings = await client(["--transport", "streamablehttp", "http://h/mcp"]);
    assert.equal(settings.transport, "streamablehttp");
  });
  await t.step("-H and --headers accumulate, the later of a repeated key wins", async () => {
    const settings = await client([
      "-H",
      "A",
      "1",
      "--headers",
      "B",
      "two words",
      "-H",
      "A",
      "3",
      "http://h",
    ]);
    assert.deepEqual(settings.headers, { A: "3", B: "two words" });
  });
  await t.step("API_ACCESS_TOKEN overrides -H Authorization, whatever its case", async () => {
    const settings = await client(
      ["-H", "authorization", "Bearer old", "-H", "X", "y", "http://h"],
      {
        env: { API_ACCESS_TOKEN: "tok" },
      },
    );
    assert.deepEqual(settings.headers, { X: "y", Authorization: "Bearer tok" });
  });
  await t.step("OAuth is active only with all three options", async () => {
    const all = await client([
      "--client-id",
      "id",
      "--client-secret",
      "secret",
      "--token-url",
      "https://auth/token",
      "http://h",
    ]);
    assert.deepEqual(all.oauth, {
      clientId: "id",
      clientSecret: "secret",
      tokenUrl: "https://auth/token",
    });
    const argv = [
      "--client-secret",
      "s3cr3t-value",
      "--token-url",
      "https://auth/token",
      "http://h",
    ];
    assert.equal((await client(argv)).oauth, undefined);
    const logs = await logsOf(argv);
    assert.ok(logs.some((l) => l.startsWith("WARNING OAuth2 needs all of")), logs.join("\n"));
    assert.ok(!logs.join("\n").includes("s3cr3t-value"));
  });
});

Deno.test("--username, --password and --digest: Basic or Digest, after the OAuth2 trio", async (t) => {
  const trio = ["--client-id", "id", "--client-secret", "s", "--token-url", "https://a/t"];
  const pair = ["--username", "user", "--password", "p:ss wörd"];
  await t.step("both: Basic", async () => {
    assert.deepEqual((await client([...pair, "http://h"])).httpAuth, {
      scheme: "basic",
      username: "user",
      password: "p:ss wörd",
    });
  });
  await t.step("both with --digest: Digest", async () => {
    assert.equal((await client([...pair, "--digest", "http://h"])).httpAuth?.scheme, "digest");
  });
  await t.step("none: no HTTP authentication", async () => {
    assert.equal((await client(["http://h"])).httpAuth, undefined);
  });
  await t.step("the OAuth2 trio wins, and then one of the pair alone is no error", async () => {
    const both = await client([...trio, ...pair, "http://h"]);
    assert.equal(both.httpAuth, undefined);
    assert.equal(both.oauth?.clientId, "id");
    const alone = await client([...trio, "--username", "user", "--digest", "http://h"]);
    assert.equal(alone.httpAuth, undefined);
  });
  const incomplete: string[][] = [
    ["--username", "user"],
    ["--password", "secret"],
    ["--digest"],
    ["--username", "user", "--digest"],
    ["--username", "", "--password", "secret"],
    ["--username", "user", "--password", ""],
    // An incomplete trio is not OAuth2: the pair is checked.
    ["--client-id", "id", "--username", "user"],
  ];
  for (const flags of incomplete) {
    await t.step(`${flags.join(" ")}: error, exit 1`, async () => {
      const outcome = await settingsFor([...flags, "http://h"]);
      assert.equal(outcome.kind, "error", JSON.stringify(outcome));
      if (outcome.kind !== "error") return;
      assert.equal(outcome.message, "Both --username and --password are required");
      assert.equal(outcome.exitCode, 1);
      assert.equal(outcome.printHelp, false);
    });
  }
});

Deno.test("--verify-ssl and --no-verify-ssl", async (t) => {
  const cases: [string[], boolean | string][] = [
    [[], true],
    [["--verify-ssl"], true],
    [["--verify-ssl", "1"], true],
    [["--verify-ssl", "true"], true],
    [["--verify-ssl", " YES "], true],
    [["--verify-ssl", "On"], true],
    [["--verify-ssl", "0"], false],
    [["--verify-ssl", "false"], false],
    [["--verify-ssl", "No"], false],
    [["--verify-ssl", " off"], false],
    [["--verify-ssl", "/etc/ssl/ca.pem"], "/etc/ssl/ca.pem"],
    [["--no-verify-ssl"], false],
    [["--verify-ssl", "false", "--verify-ssl"], true],
    [["--verify-ssl", "--no-verify-ssl"], false],
  ];
  for (const [flags, expected] of cases) {
    await t.step(`${flags.join(" ") || "(none)"} -> ${expected}`, async () => {
      // The URL goes first: `--verify-ssl URL` would take the URL as its value.
      assert.equal((await client(["https://h/sse", ...flags])).verifySsl, expected);
    });
  }
});

Deno.test("client mode warns about arguments it ignores", async (t) => {
  const cases: [string[], RegExp][] = [
    [["--named-server", "a", "cmd", "http://h"], /--named-server arguments are ignored/],
    [["--named-server-config", "s.json", "http://h"], /--named-server-config is ignored/],
    [["http://h", "extra"], /Extra arguments after the URL are ignored/],
  ];
  for (const [argv, warning] of cases) {
    await t.step(argv.join(" "), async () => {
      const logs = await logsOf(argv);
      assert.ok(logs.some((l) => l.startsWith("WARNING") && warning.test(l)), logs.join("\n"));
    });
  }
});

Deno.test("default server: command verbatim, args, -e, --cwd", async (t) => {
  await t.step("command and args", async () => {
    const { defaultServer } = await server(["my server", "a", "b c"]);
    assert.equal(defaultServer?.name, "default");
    assert.equal(defaultServer?.command, "my server");
    assert.deepEqual(defaultServer?.args, ["a", "b c"]);
    assert.equal(defaultServer?.cwd, undefined);
  });
  await t.step("-- lets the command have options", async () => {
    const { defaultServer, port } = await server([
      "--port",
      "8080",
      "--",
      "cmd",
      "--arg1",
      "v1",
      "-e",
      "x",
    ]);
    assert.equal(defaultServer?.command, "cmd");
    assert.deepEqual(defaultServer?.args, ["--arg1", "v1", "-e", "x"]);
    assert.equal(port, 8080);
  });
  await t.step("-e pairs and --cwd apply to the default server only", async () => {
    const settings = await server(
      [
        "cmd",
        "-e",
        "K",
        "V",
        "--env",
        "K2",
        "V 2",
        "--cwd",
        "/srv",
        "--named-server",
        "n",
        "other",
      ],
      { env: { PATH: "/bin" } },
    );
    assert.deepEqual(settings.defaultServer?.env, { PATH: "/bin", K: "V", K2: "V 2" });
    assert.equal(settings.defaultServer?.cwd, "/srv");
    assert.deepEqual(settings.namedServers[0].env, { PATH: "/bin" });
    assert.equal(settings.namedServers[0].cwd, undefined);
  });
});

Deno.test("child environment: the safe set, --pass-environment, shell functions", async (t) => {
  const env = {
    HOME: "/home/u",
    LOGNAME: "u",
    PATH: "/usr/bin",
    SHELL: "/bin/sh",
    TERM: "xterm",
    USER: "u",
    SECRET: "s",
    BASH_FUNC: "() { echo; }",
  };
  await t.step("POSIX: only the safe set by default", async () => {
    const { defaultServer } = await server(["cmd"], { env });
    assert.deepEqual(defaultServer?.env, {
      HOME: "/home/u",
      LOGNAME: "u",
      PATH: "/usr/bin",
      SHELL: "/bin/sh",
      TERM: "xterm",
      USER: "u",
    });
  });
  await t.step("values that start with () are skipped", async () => {
    const { defaultServer } = await server(["cmd"], { env: { PATH: "() { x; }", HOME: "/h" } });
    assert.deepEqual(defaultServer?.env, { HOME: "/h" });
  });
  await t.step("--pass-environment passes everything to every server", async () => {
    const settings = await server(["cmd", "--pass-environment", "--named-server", "n", "other"], {
      env,
    });
    assert.equal(settings.defaultServer?.env.SECRET, "s");
    assert.equal(settings.namedServers[0].env.SECRET, "s");
  });
  await t.step("--no-pass-environment", async () => {
    const { defaultServer } = await server(["cmd", "--pass-environment", "--no-pass-environment"], {
      env,
    });
    assert.equal(defaultServer?.env.SECRET, undefined);
  });
  await t.step("Windows: its own safe set, names matched case-insensitively", async () => {
    const { defaultServer } = await server(["cmd"], {
      os: "windows",
      env: {
        Path: "C:\\bin",
        PATHEXT: ".EXE;.CMD",
        SystemRoot: "C:\\Windows",
        HOME: "x",
        OTHER: "y",
      },
    });
    assert.deepEqual(defaultServer?.env, {
      PATH: "C:\\bin",
      PATHEXT: ".EXE;.CMD",
      SYSTEMROOT: "C:\\Windows",
    });
  });
});

Deno.test("log level: default INFO, --log-level, --debug wins", async (t) => {
  const cases: [string[], string][] = [
    [[], "INFO"],
    [["--log-level", "WARNING"], "WARNING"],
    [["--log-level", "CRITICAL"], "CRITICAL"],
    [["--debug"], "DEBUG"],
    [["--log-level", "ERROR", "--debug"], "DEBUG"],
    [["--debug", "--log-level", "ERROR"], "DEBUG"],
    [["--debug", "--no-debug", "--log-level", "ERROR"], "ERROR"],
  ];
  for (const [flags, level] of cases) {
    await t.step(`${flags.join(" ") || "(none)"} -> ${level}`, async () => {
      assert.equal((await server(["cmd", ...flags])).logLevel, level);
      assert.equal((await client(["http://h", ...flags])).logLevel, level);
    });
  }
});

Deno.test("HTTP server options", async (t) => {
  await t.step(
    "defaults: port 0, host 127.0.0.1, stateful, no CORS, mcp-session-id exposed",
    async () => {
      const settings = await server(["cmd"]);
      assert.equal(settings.port, 0);
      assert.equal(settings.host, "127.0.0.1");
      assert.equal(settings.stateless, false);
      assert.deepEqual(settings.allowOrigins, []);
      assert.deepEqual(settings.exposeHeaders, ["mcp-session-id"]);
      assert.deepEqual(settings.apiKeys, []);
      assert.equal(settings.maxBodyBytes, 4 * 1024 * 1024);
    },
  );
  await t.step("--port, --host, --stateless", async () => {
    const settings = await server(["cmd", "--port", "9000", "--host", "0.0.0.0", "--stateless"]);
    assert.equal(settings.port, 9000);
    assert.equal(settings.host, "0.0.0.0");
    assert.equal(settings.stateless, true);
  });
  await t.step("--no-stateless", async () => {
    assert.equal((await server(["cmd", "--stateless", "--no-stateless"])).stateless, false);
  });
  await t.step(
    "deprecated --sse-port/--sse-host stand in when --port/--host are absent",
    async () => {
      const settings = await server(["cmd", "--sse-port", "7000", "--sse-host", "::1"]);
      assert.equal(settings.port, 7000);
      assert.equal(settings.host, "::1");
    },
  );
  await t.step("--port/--host win over --sse-port/--sse-host", async () => {
    const settings = await server([
      "cmd",
      "--sse-port",
      "7000",
      "--port",
      "7001",
      "--sse-host",
      "a",
      "--host",
      "b",
    ]);
    assert.equal(settings.port, 7001);
    assert.equal(settings.host, "b");
  });
  await t.step("--allow-origin takes one or more and repeats accumulate", async () => {
    const settings = await server([
      "--allow-origin",
      "http://a",
      "http://b",
      "--allow-origin=*",
      "--",
      "cmd",
    ]);
    assert.deepEqual(settings.allowOrigins, ["http://a", "http://b", "*"]);
  });
  await t.step("--expose-header replaces the default and accumulates", async () => {
    const settings = await server(["cmd", "--expose-header", "X-One", "--expose-header", "X-Two"]);
    assert.deepEqual(settings.exposeHeaders, ["X-One", "X-Two"]);
  });
  await t.step("--api-key accumulates, MCP_PROXY_API_KEY adds one", async () => {
    const settings = await server(["cmd", "--api-key", "k1", "--api-key=k2"]);
    assert.deepEqual(settings.apiKeys, ["k1", "k2"]);
    const withEnv = await server(["--api-key", "k1", "cmd"], {
      env: { MCP_PROXY_API_KEY: " from-env " },
    });
    assert.deepEqual(withEnv.apiKeys, ["k1", "from-env"]);
  });
  await t.step(
    "an empty --api-key is a usage error; an empty MCP_PROXY_API_KEY is none",
    async () => {
      const outcome = await settingsFor(["--api-key", " ", "cmd"]);
      assert.equal(outcome.kind, "error");
      assert.equal(outcome.exitCode, 2);
      assert.deepEqual((await server(["cmd"], { env: { MCP_PROXY_API_KEY: "" } })).apiKeys, []);
    },
  );
  await t.step("--max-body-size BYTES: an int of at least 1", async () => {
    assert.equal((await server(["cmd", "--max-body-size", "1_000"])).maxBodyBytes, 1000);
    const zero = await settingsFor(["--max-body-size", "0", "cmd"]);
    assert.equal(zero.kind, "error");
    assert.equal(zero.exitCode, 2);
    const word = await settingsFor(["--max-body-size", "big", "cmd"]);
    assert.equal(word.kind, "exit");
    assert.equal(word.code, 2);
    assert.match(word.stderr, /argument --max-body-size: invalid int value: 'big'/);
  });
  await t.step("connection limits: defaults, seconds as decimals, at least something", async () => {
    assert.deepEqual((await server(["cmd"])).httpLimits, {
      headersTimeoutMs: 30_000,
      bodyTimeoutMs: 60_000,
      keepAliveTimeoutMs: 30_000,
      maxConnections: 4096,
    });
    const given = await server([
      "cmd",
      ...["--header-timeout", "0.5", "--body-timeout", "2", "--keep-alive-timeout", "3"],
      ...["--max-connections", "10"],
    ]);
    assert.deepEqual(given.httpLimits, {
      headersTimeoutMs: 500,
      bodyTimeoutMs: 2_000,
      keepAliveTimeoutMs: 3_000,
      maxConnections: 10,
    });
    for (const flag of ["--header-timeout", "--keep-alive-timeout", "--max-connections"]) {
      const zero = await settingsFor([flag, "0", "cmd"]);
      assert.equal(zero.kind, "error", flag);
      assert.equal(zero.exitCode, 2, flag);
    }
    const word = await settingsFor(["--body-timeout", "soon", "cmd"]);
    assert.equal(word.kind, "exit");
    assert.match(word.stderr, /argument --body-timeout: invalid float value: 'soon'/);
  });
  await t.step(
    "--request-timeout, --session-timeout SECONDS: on every server, 0 for none",
    async () => {
      assert.deepEqual((await server(["cmd"])).defaultServer?.limits, DEFAULT_SERVING_LIMITS);
      const set = await server([
        "--request-timeout",
        "5",
        "--session-timeout",
        "0",
        "--named-server",
        "n",
        "other",
        "cmd",
      ]);
      const limits = { requestTimeoutMs: 5_000, sessionIdleMs: 0 };
      assert.deepEqual([set.defaultServer?.limits, set.namedServers[0].limits], [limits, limits]);
      const negative = await settingsFor(["--request-timeout", "-1", "cmd"]);
      assert.equal(negative.kind, "error");
      assert.equal(negative.exitCode, 2);
    },
  );
});

Deno.test("--named-server: shell words, empty, duplicate, unclosed quote, bad name", async (t) => {
  await t.step("COMMAND_STRING is split like POSIX shell words", async () => {
    const settings = await server([
      "--named-server",
      "fetch",
      `uvx mcp-server-fetch --timeout 10 "two words" 'single $quoted' esc\\ aped ''`,
    ]);
    assert.equal(settings.defaultServer, undefined);
    assert.deepEqual(
      settings.namedServers.map(({ name, command, args }) => ({ name, command, args })),
      [
        {
          name: "fetch",
          command: "uvx",
          args: [
            "mcp-server-fetch",
            "--timeout",
            "10",
            "two words",
            "single $quoted",
            "esc aped",
            "",
          ],
        },
      ],
    );
  });
  await t.step("an empty COMMAND_STRING is logged and skipped", async () => {
    const outcome = await settingsFor(["--named-server", "a", "  ", "--named-server", "b", "cmd"]);
    assert.equal(outcome.kind, "settings");
    if (outcome.kind !== "settings" || outcome.settings.mode !== "server") return;
    assert.deepEqual(outcome.settings.namedServers.map((s) => s.name), ["b"]);
    assert.ok(outcome.logs.includes("ERROR Empty COMMAND_STRING for named server 'a'. Skipping."));
  });
  await t.step("only empty COMMAND_STRINGs: no server, exit 1 with help", async () => {
    const outcome = await settingsFor(["--named-server", "a", ""]);
    assert.equal(outcome.kind, "error");
    if (outcome.kind !== "error") return;
    assert.equal(outcome.exitCode, 1);
    assert.equal(outcome.printHelp, true);
    assert.match(outcome.message, /No stdio servers configured/);
  });
  await t.step("a repeated NAME: the later definition wins", async () => {
    const settings = await server([
      "--named-server",
      "a",
      "first",
      "--named-server",
      "a",
      "second x",
    ]);
    assert.deepEqual(settings.namedServers.map((s) => [s.name, s.command, s.args]), [[
      "a",
      "second",
      ["x"],
    ]]);
  });
  await t.step("an unclosed quote exits 1 naming the server", async () => {
    const outcome = await settingsFor(["--named-server", "broken", "cmd 'oops"]);
    assert.equal(outcome.kind, "error");
    if (outcome.kind !== "error") return;
    assert.equal(outcome.exitCode, 1);
    assert.match(outcome.message, /named server 'broken'/);
    assert.match(outcome.message, /No closing quotation/);
  });
  await t.step("a NAME that is not one URL path segment is refused", async () => {
    for (const name of ["a/b", "..", "", "a b", "é"]) {
      const outcome = await settingsFor(["--named-server", name, "cmd"]);
      assert.equal(outcome.kind, "error", name);
      if (outcome.kind === "error") assert.match(outcome.message, /one URL path segment/);
    }
  });
  await t.step("--named-server takes exactly two values", async () => {
    const outcome = await settingsFor(["--named-server", "only-name"]);
    assert.equal(outcome.kind, "exit");
    if (outcome.kind !== "exit") return;
    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /argument --named-server: expected 2 arguments/);
  });
});

const CONFIG_PATH = "/etc/servers.json";

function withConfig(text: string): FakeWorld {
  return { env: { PATH: "/bin", TOKEN: "t" }, files: { [CONFIG_PATH]: text } };
}

Deno.test("--named-server-config: files that cannot be used exit 1", async (t) => {
  const cases: [string, string | undefined, RegExp][] = [
    ["missing file", undefined, /^ERROR Configuration file not found: \/etc\/servers.json$/],
    [
      "invalid JSON",
      "{not json",
      /^ERROR Error decoding JSON from configuration file: \/etc\/servers.json/,
    ],
    ["empty file", "", /^ERROR Error decoding JSON from configuration file: .*the file is empty/],
    ["no mcpServers", `{"servers": {}}`, /Missing 'mcpServers' key/],
    ["top level not an object", `[1, 2]`, /Missing 'mcpServers' key/],
    ["mcpServers not an object", `{"mcpServers": []}`, /'mcpServers' must be an object/],
  ];
  for (const [label, text, logged] of cases) {
    await t.step(label, async () => {
      const world = text === undefined ? { files: {} } : withConfig(text);
      const outcome = await settingsFor(["--named-server-config", CONFIG_PATH], world);
      assert.equal(outcome.kind, "error");
      if (outcome.kind !== "error") return;
      assert.equal(outcome.exitCode, 1);
      assert.equal(
        outcome.message,
        `Failed to load server configurations from ${CONFIG_PATH}. Exiting.`,
      );
      assert.ok(outcome.logs.some((l) => logged.test(l)), outcome.logs.join("\n"));
    });
  }
});

Deno.test("--named-server-config: entries", async (t) => {
  const config = JSON.stringify({
    mcpServers: {
      good: {
        command: "npx",
        args: ["-y", "server"],
        env: { TOKEN: "own", EXTRA: "1" },
        cwd: "/work",
        timeout: 60,
        transportType: "stdio",
      },
      plain: { command: "uvx" },
      "not-object": "npx server",
      "no-command": { args: [] },
      "bad-args": { command: "x", args: "-y server" },
      "bad-env": { command: "x", env: ["A=1"] },
      "off": { command: "x", enabled: false },
      "on": { command: "on-cmd", enabled: true },
      "disabled": { command: "x", disabled: true },
      "bad/name": { command: "x" },
    },
  });
  const outcome = await settingsFor(["--named-server-config", CONFIG_PATH], withConfig(config));
  assert.equal(outcome.kind, "settings");
  if (outcome.kind !== "settings" || outcome.settings.mode !== "server") return;
  const { namedServers } = outcome.settings;
  const logs = outcome.logs.join("\n");

  await t.step(
    "good entries are served; env over the base, cwd honoured, extra keys ignored",
    () => {
      assert.deepEqual(namedServers, [
        {
          name: "good",
          pathPrefix: "/servers/good",
          prefix: "good",
          command: "npx",
          args: ["-y", "server"],
          env: { PATH: "/bin", TOKEN: "own", EXTRA: "1" },
          cwd: "/work",
          limits: DEFAULT_SERVING_LIMITS,
        },
        {
          name: "plain",
          pathPrefix: "/servers/plain",
          prefix: "plain",
          command: "uvx",
          args: [],
          env: { PATH: "/bin" },
          cwd: undefined,
          limits: DEFAULT_SERVING_LIMITS,
        },
        {
          name: "on",
          pathPrefix: "/servers/on",
          prefix: "on",
          command: "on-cmd",
          args: [],
          env: { PATH: "/bin" },
          cwd: undefined,
          limits: DEFAULT_SERVING_LIMITS,
        },
      ]);
    },
  );
  const warnings: [string, string][] = [
    [
      "not an object",
      "Skipping invalid server config for 'not-object' in /etc/servers.json. Entry is not a dictionary.",
    ],
    ["missing command", "Named server 'no-command' from config is missing 'command'. Skipping."],
    [
      "non-list args",
      "Named server 'bad-args' from config has invalid 'args' (must be a list). Skipping.",
    ],
    [
      "non-object env",
      "Named server 'bad-env' from config has invalid 'env' (must be an object of strings). Skipping.",
    ],
    ["enabled: false", "Named server 'off' from config is not enabled. Skipping."],
    ["disabled: true", "Named server 'disabled' from config is disabled. Skipping."],
    [
      "a name that is not a path segment",
      "Named server 'bad/name' from config has an invalid name",
    ],
  ];
  for (const [label, warning] of warnings) {
    await t.step(`${label}: warning naming the server, skipped`, () => {
      assert.ok(logs.includes(`WARNING ${warning}`), logs);
    });
  }
});

Deno.test("--named-server-config: an entry's secret-looking arguments are masked in its log line", async () => {
  const config = JSON.stringify({
    mcpServers: { s: { command: "npx", args: ["srv", "--api-key", "k1", "--token=t1"] } },
  });
  const logs = await logsOf(["--named-server-config", CONFIG_PATH], withConfig(config));
  // `--token=t1` is left to the logger itself (maskSecrets masks NAME=value in every line).
  assert.ok(
    logs.includes("INFO Configured named server 's' from config: npx srv --api-key *** --token=t1"),
    logs.join("\n"),
  );
});

Deno.test("--named-server-config is the only source of named servers", async () => {
  const config = JSON.stringify({ mcpServers: { fromfile: { command: "x" } } });
  const outcome = await settingsFor(
    ["--named-server", "cli", "y", "--named-server-config", CONFIG_PATH, "default-cmd"],
    withConfig(config),
  );
  assert.equal(outcome.kind, "settings");
  if (outcome.kind !== "settings" || outcome.settings.mode !== "server") return;
  assert.deepEqual(outcome.settings.namedServers.map((s) => s.name), ["fromfile"]);
  assert.equal(outcome.settings.defaultServer?.command, "default-cmd");
  assert.ok(outcome.logs.includes(
    "WARNING --named-server CLI arguments are ignored when --named-server-config is provided.",
  ));
});

Deno.test("mount points are data: a named server called 'default' is not the root", async (t) => {
  const mounts = (settings: ServerSettings) =>
    [settings.defaultServer, ...settings.namedServers].flatMap((s) =>
      s ? [[s.name, s.pathPrefix, s.command]] : []
    );
  await t.step("--named-server default beside a default server", async () => {
    const settings = await server(["--named-server", "default", "named-cmd", "root-cmd"]);
    assert.deepEqual(mounts(settings), [
      ["default", "", "root-cmd"],
      ["servers/default", "/servers/default", "named-cmd"],
    ]);
  });
  await t.step("--named-server default alone", async () => {
    const settings = await server(["--named-server", "default", "named-cmd"]);
    assert.deepEqual(mounts(settings), [["default", "/servers/default", "named-cmd"]]);
  });
  await t.step("a config entry called default beside a default server", async () => {
    const config = JSON.stringify({ mcpServers: { default: { command: "named-cmd" } } });
    const settings = await server(
      ["--named-server-config", CONFIG_PATH, "root-cmd"],
      withConfig(config),
    );
    assert.deepEqual(mounts(settings), [
      ["default", "", "root-cmd"],
      ["servers/default", "/servers/default", "named-cmd"],
    ]);
  });
});

Deno.test("no command and no named server: help, then the error, exit 1", async () => {
  const outcome = await settingsFor([]);
  assert.equal(outcome.kind, "error");
  if (outcome.kind !== "error") return;
  assert.equal(outcome.exitCode, 1);
  assert.equal(outcome.printHelp, true);
  assert.equal(
    outcome.message,
    "Either a command_or_url for a default server or at least one --named-server " +
      "(or --named-server-config) must be provided for stdio mode.",
  );
});

Deno.test("argparse usage errors exit 2 with argparse's own text", async (t) => {
  const cases: [string[], string][] = [
    [
      ["--transport", "ws", "http://h"],
      "argument --transport: invalid choice: 'ws' (choose from 'sse', 'streamablehttp')",
    ],
    [["-H", "A"], "argument -H/--headers: expected 2 arguments"],
    [["-e", "K"], "argument -e/--env: expected 2 arguments"],
    [["--port", "abc", "cmd"], "argument --port: invalid int value: 'abc'"],
    [["--sse-port", "1.5", "cmd"], "argument --sse-port: invalid int value: '1.5'"],
    [
      ["--log-level", "TRACE", "cmd"],
      "argument --log-level: invalid choice: 'TRACE' (choose from 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')",
    ],
    [["--allow-origin"], "argument --allow-origin: expected at least one argument"],
    [["--bogus", "cmd"], "unrecognized arguments: --bogus"],
    [["--cwd"], "argument --cwd: expected one argument"],
  ];
  for (const [argv, message] of cases) {
    await t.step(argv.join(" "), async () => {
      const outcome = await settingsFor(argv);
      assert.equal(outcome.kind, "exit");
      if (outcome.kind !== "exit") return;
      assert.equal(outcome.code, 2);
      assert.equal(outcome.stdout, "");
      assert.match(outcome.stderr, /^usage: mcp-proxy /);
      assert.ok(outcome.stderr.endsWith(`mcp-proxy: error: ${message}\n`), outcome.stderr);
    });
  }
});

Deno.test("--help and --version exit 0 on stdout", async () => {
  const version = await settingsFor(["--version"]);
  assert.deepEqual(version, { kind: "exit", code: 0, stdout: "mcp-proxy 9.9.9\n", stderr: "" });
  const help = await settingsFor(["-h"]);
  assert.equal(help.kind, "exit");
  if (help.kind !== "exit") return;
  assert.equal(help.code, 0);
  assert.equal(help.stderr, "");
  assert.match(help.stdout, /^usage: mcp-proxy /);
});
