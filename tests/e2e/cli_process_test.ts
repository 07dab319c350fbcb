/**
 * The command line end to end: the real program in a child process, its output and exit codes.
 */
import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };
import { runProxy } from "../support/process.ts";

const ANSI = new RegExp(String.fromCharCode(27) + "\\[");
const LOG_LINE = /^\[[DIWEC] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [\w.]+\] /;

Deno.test("--version prints the version from deno.json and exits 0", async () => {
  const { code, stdout, stderr } = await runProxy(["--version"]);
  assert.equal(code, 0);
  assert.equal(stdout, `mcp-proxy ${denoConfig.version}\n`);
  assert.equal(stderr, "");
});

Deno.test("--help lists every flag in its groups, then the examples, and exits 0", async () => {
  const { code, stdout, stderr } = await runProxy(["--help"]);
  assert.equal(code, 0);
  assert.equal(stderr, "");
  const groups = [
    "positional arguments:",
    "options:",
    "SSE/StreamableHTTP client options:",
    "stdio client options:",
    "SSE server options:",
    "Examples:",
  ].map((heading) => stdout.indexOf(`\n${heading}\n`));
  assert.ok(groups.every((at) => at > 0), stdout);
  assert.deepEqual(groups, [...groups].sort((a, b) => a - b));
  const flags = [
    "-h, --help",
    "--version",
    "command_or_url",
    "-H, --headers KEY VALUE",
    "--transport {sse,streamablehttp}",
    "--client-id CLIENT_ID",
    "--client-secret CLIENT_SECRET",
    "--token-url TOKEN_URL",
    "--username USERNAME",
    "--password PASSWORD",
    "--digest",
    "--verify-ssl [VALUE]",
    "--no-verify-ssl",
    "args",
    "-e, --env KEY VALUE",
    "--cwd CWD",
    "--pass-environment, --no-pass-environment",
    "--log-level LEVEL",
    "--debug, --no-debug",
    "--named-server NAME COMMAND_STRING",
    "--named-server-config FILE_PATH",
    "--port PORT",
    "--host HOST",
    "--stateless, --no-stateless",
    "--sse-port SSE_PORT",
    "--sse-host SSE_HOST",
    "--allow-origin ALLOW_ORIGIN [ALLOW_ORIGIN ...]",
    "--expose-header HEADER",
    "--api-key KEY",
    "--max-body-size BYTES",
    "--header-timeout SECONDS",
    "--body-timeout SECONDS",
    "--keep-alive-timeout SECONDS",
    "--max-connections N",
  ];
  for (const flag of flags) assert.ok(stdout.includes(`\n  ${flag}`), `missing ${flag}`);
  for (
    const text of [
      "Command or URL to connect to. When a URL, will run an SSE/StreamableHTTP client.",
      "Headers to pass to the SSE server. Can be used multiple times.",
      "The transport to use for the client. Default: detected from the server; sse or streamablehttp force one.",
      "Any extra arguments to the command to spawn the default server. Ignored if only named servers are defined.",
      "Pass through all environment variables when spawning all server processes.",
      "Port to expose an SSE server on. Default is a random port",
      "Host to expose an SSE server on. Default is 127.0.0.1",
      "Enable stateless mode for streamable http transports. Default is False",
      "Allowed origins for the SSE server. Can be used multiple times. Default is no CORS allowed.",
    ]
  ) assert.ok(stdout.includes(text), `missing ${text}`);
});

Deno.test("--help ends with the original's Examples epilog, line for line", async () => {
  const { stdout } = await runProxy(["--help"]);
  // mcp-proxy 0.13.0, src/mcp_proxy/__main__.py, the parser's epilog.
  const original = [
    "Examples:",
    "  mcp-proxy http://localhost:8080/sse",
    "  mcp-proxy --no-verify-ssl https://server.local/sse",
    "  mcp-proxy --transport streamablehttp http://localhost:8080/mcp",
    "  mcp-proxy --transport streamablehttp --username user --password pass https://server.local/mcp",
    "  mcp-proxy --headers Authorization 'Bearer YOUR_TOKEN' http://localhost:8080/sse",
    "  mcp-proxy --port 8080 -- your-command --arg1 value1 --arg2 value2",
    "  mcp-proxy --named-server fetch 'uvx mcp-server-fetch' --port 8080",
    "  mcp-proxy your-command --port 8080 -e KEY VALUE -e ANOTHER_KEY ANOTHER_VALUE",
    "  mcp-proxy your-command --port 8080 --allow-origin='*'",
  ];
  const epilog = stdout.slice(stdout.lastIndexOf("\nExamples:\n") + 1).trimEnd().split("\n");
  assert.deepEqual(epilog, original);
});

Deno.test("help has no ANSI colour when stdout is not a terminal, even with FORCE_COLOR", async () => {
  const envs: Record<string, string>[] = [{}, { FORCE_COLOR: "1" }, { NO_COLOR: "1" }];
  for (const env of envs) {
    const { stdout } = await runProxy(["--help"], { env });
    assert.doesNotMatch(stdout, ANSI);
  }
});

Deno.test("a usage error prints usage and argparse's error to stderr and exits 2", async () => {
  const { code, stdout, stderr } = await runProxy(["--transport", "websocket", "http://h/sse"]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /^usage: mcp-proxy /);
  assert.match(stderr, /mcp-proxy: error: argument --transport: invalid choice: 'websocket'/);
});

Deno.test("no command and no named server: help on stdout, the error on stderr, exit 1", async () => {
  const { code, stdout, stderr } = await runProxy([]);
  assert.equal(code, 1);
  assert.match(stdout, /^usage: mcp-proxy /);
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], LOG_LINE);
  assert.match(
    lines[0],
    /^\[E [^\]]+ mcp_proxy\] Either a command_or_url for a default server or at least one --named-server \(or --named-server-config\) must be provided for stdio mode\.$/,
  );
});

Deno.test("an unclosed quote in a COMMAND_STRING exits 1 naming the server", async () => {
  const { code, stdout, stderr } = await runProxy([
    "--named-server",
    "fetch",
    "uvx 'mcp-server-fetch",
  ]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(stderr, /^\[E [^\]]+\] Error parsing COMMAND_STRING for named server 'fetch'/m);
});

Deno.test("a broken config file exits 1 with the file named, and where in it the mistake is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/servers.json`;
    await Deno.writeTextFile(path, "{ broken");
    const { code, stdout, stderr } = await runProxy(["--named-server-config", path]);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(stderr, new RegExp(`Error decoding JSON from configuration file: ${path}`));
    assert.match(
      stderr,
      new RegExp(`Failed to load server configurations from ${path}\\. Exiting\\.`),
    );
    for (const line of stderr.trimEnd().split("\n")) assert.match(line, LOG_LINE);

    // Where the mistake is, by line and column, and nothing of the file's text (a token).
    await Deno.writeTextFile(
      path,
      '{\n  "mcpServers": {\n    "gh": {"command": "x", "env": {"TOKEN": "ghp_secret"},}\n  }\n}\n',
    );
    const located = await runProxy(["--named-server-config", path]);
    assert.equal(located.code, 1);
    assert.match(
      located.stderr,
      /Error decoding JSON from configuration file: .*servers\.json \(line 3, column 59: \S.*\)$/m,
    );
    assert.doesNotMatch(located.stderr, /ghp_secret/);

    const missing = await runProxy(["--named-server-config", `${dir}/nope.json`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Configuration file not found: .*nope\.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("log level filters stderr; --debug wins over --log-level", async () => {
  const args = ["--named-server", "a", "", "--named-server", "b", "'"];
  const quiet = await runProxy(["--log-level", "CRITICAL", ...args]);
  assert.equal(quiet.code, 1);
  assert.equal(quiet.stderr, "");
  const loud = await runProxy(["--log-level", "CRITICAL", "--debug", ...args]);
  assert.match(
    loud.stderr,
    /^\[E [^\]]+\] Empty COMMAND_STRING for named server 'a'\. Skipping\.$/m,
  );
});
