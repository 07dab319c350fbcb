/**
 * Server mode in front of stdio servers that are slow to start, as a first `uvx` or `npx` run
 * is (it downloads the server before reading stdin): dual-era, legacy-only and modern-only
 * servers that read nothing for 7 s and 20 s, as the default server, as named servers, and
 * as the remote of client mode, whose era detection runs during the start; `uvx
 * mcp-server-fetch` itself; legacy servers that ignore the era probe or exit on it; and a
 * server that exits at once. Each start of a child is counted (a line in a file), so that a
 * second handshake or a needless restart shows.
 *
 * The slow cases run concurrently in one test, so that the file takes about the longest
 * delay, not the sum.
 */
import assert from "node:assert/strict";
import { FIXTURES } from "../support/conformance.ts";
import { eventually } from "../support/eventually.ts";
import { connectClient } from "../support/mcp_client.ts";
import { ROOT } from "../support/paths.ts";
import { type RunningProcess, runProxy, startProxy } from "../support/process.ts";
import { ProxyStdio, withClientThrough } from "../support/proxy_stdio.ts";
import { MCP_SERVER_FETCH, uvEnvironment } from "../support/python.ts";

const QUIET_LEGACY = `${ROOT}tests/fixtures/quiet_legacy_server.mjs`;

/** A server of one era, and what the proxy says when it runs it. */
interface EraServer {
  readonly name: string;
  readonly stdio: readonly string[];
  /** The era `/status` reports. */
  readonly era: "legacy" | "modern";
  /** A tool its `tools/list` has. */
  readonly tool: string;
}

const conformance = (name: string): EraServer => {
  const fixture = FIXTURES.find((f) => f.name === name)!;
  return {
    name,
    stdio: fixture.stdio,
    era: name === "legacy" ? "legacy" : "modern",
    tool: "test_simple_text",
  };
};

const SERVERS: readonly EraServer[] = ["dual-era", "legacy", "modern-only"].map(conformance);

/** The delays before the servers read stdin, in seconds. */
const DELAYS = [7, 20] as const;

/** How long a case may wait for a slow server (the longest delay, on a loaded machine). */
const SLOW_WAIT_MS = 90_000;

/** A file that gets one line per start of a child; removed by `remove()`. */
class StartCounter {
  readonly path: string;

  constructor() {
    this.path = Deno.makeTempFileSync({ prefix: "mcp-proxy-starts-" });
  }

  /** How many times the child was started. */
  count(): number {
    return Deno.readTextFileSync(this.path).split("\n").filter((line) => line !== "").length;
  }

  /** `stdio` started through a shell that counts the start and waits `seconds` first. */
  slow(seconds: number, stdio: readonly string[]): string[] {
    return ["sh", "-c", `echo start >> '${this.path}'; sleep ${seconds}; exec "$0" "$@"`, ...stdio];
  }

  remove(): void {
    Deno.removeSync(this.path);
  }
}

/** `argv` as one command string of `--named-server`, each word single-quoted. */
function commandString(argv: readonly string[]): string {
  return argv.map((word) => `'${word.replaceAll("'", `'"'"'`)}'`).join(" ");
}

/** The base URL the proxy printed as soon as it listens (before its servers start). */
async function listeningBase(proxy: RunningProcess): Promise<string> {
  return (await proxy.waitForStderr(/Listening on (http:\S+);/))[1];
}

/** What a slow start must never log: an error, a refused handshake, a retry or an exit. */
function assertCleanStart(stderr: string): void {
  assert.doesNotMatch(stderr, /^\[E /m, "an ERROR line");
  assert.doesNotMatch(stderr, /initialize failed|retrying|Exiting|starting it again/);
}

/** The eras `/status` reports. */
async function erasOf(base: string): Promise<Record<string, string>> {
  const response = await fetch(`${base}/status`);
  return (await response.json()).server_eras;
}

/** Lists the tools at `url` (an `/mcp` URL) with an SDK 1.x client. */
async function toolNames(url: string): Promise<string[]> {
  const client = await connectClient(url, "mcp");
  try {
    return (await client.listTools()).tools.map((tool) => tool.name);
  } finally {
    await client.close();
  }
}

/** Lists the tools of `url` through mcp-proxy in client mode (its era detection included). */
async function toolNamesThroughClientMode(url: string): Promise<string[]> {
  const proxy = new ProxyStdio([url]);
  let names: string[] = [];
  await withClientThrough(proxy, { close: () => Promise.resolve() }, "slow-start", async (c) => {
    names = (await c.listTools()).tools.map((tool) => tool.name);
  });
  assert.doesNotMatch(proxy.stderr, /^\[E /m, `client mode logged an error:\n${proxy.stderr}`);
  return names;
}

/** `promise`, whose rejection counts as handled until it is awaited (it may come first). */
function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Runs every case at once; fails naming each case that failed and why. */
async function runConcurrently(cases: Record<string, () => Promise<void>>): Promise<void> {
  const names = Object.keys(cases);
  const outcomes = await Promise.allSettled(names.map((name) => cases[name]()));
  const failures = outcomes.flatMap((outcome, i) =>
    outcome.status === "rejected" ? [`${names[i]}: ${outcome.reason?.stack ?? outcome.reason}`] : []
  );
  assert.deepEqual(failures, [], failures.join("\n\n"));
}

/**
 * One slow default server: a client connects while it starts (directly, or through client
 * mode, whose detection then waits on the start), gets its tools once it runs, and the child
 * was started once, with the era the proxy found.
 */
async function slowDefaultServer(
  server: EraServer,
  seconds: number,
  through: "direct" | "client mode",
): Promise<void> {
  const starts = new StartCounter();
  const proxy = startProxy(["--port", "0", "--", ...starts.slow(seconds, server.stdio)]);
  try {
    const base = await listeningBase(proxy);
    const tools = awaitedLater(
      through === "direct" ? toolNames(`${base}/mcp`) : toolNamesThroughClientMode(`${base}/mcp`),
    );
    const running = server.era === "modern" ? /running \(2026-07-28\): / : /running: /;
    await proxy.waitForStderr(running, SLOW_WAIT_MS);
    assert.ok((await tools).includes(server.tool), "the client got the tools");
    assert.deepEqual(await erasOf(base), { default: server.era });
    assert.equal(starts.count(), 1, "the child was started once");
    assertCleanStart(proxy.stderr);
  } finally {
    await proxy.stop();
    starts.remove();
  }
}

/** Slow named servers of each era, next to each other in one proxy. */
async function slowNamedServers(): Promise<void> {
  const counters = SERVERS.map(() => new StartCounter());
  const names = SERVERS.map((server) => server.name);
  const args = SERVERS.flatMap((server, i) => [
    "--named-server",
    names[i],
    commandString(counters[i].slow(DELAYS[i % DELAYS.length], server.stdio)),
  ]);
  const proxy = startProxy(["--port", "0", ...args]);
  try {
    const base = await listeningBase(proxy);
    const tools = names.map((name) => awaitedLater(toolNames(`${base}/servers/${name}/mcp`)));
    await proxy.waitForStderr(/via Streamable HTTP:\n/, SLOW_WAIT_MS);
    for (const [i, server] of SERVERS.entries()) {
      assert.ok((await tools[i]).includes(server.tool), `${names[i]} listed its tools`);
      assert.equal(counters[i].count(), 1, `${names[i]} was started once`);
    }
    assert.deepEqual(
      await erasOf(base),
      Object.fromEntries(SERVERS.map((server, i) => [names[i], server.era])),
    );
    assertCleanStart(proxy.stderr);
  } finally {
    await proxy.stop();
    for (const counter of counters) counter.remove();
  }
}

/** `uvx mcp-server-fetch` behind a 7 s delay (its first run also downloads it from PyPI). */
async function slowUvxFetch(): Promise<void> {
  const starts = new StartCounter();
  const proxy = startProxy(
    // The whole environment: uv needs the machine's certificate settings for PyPI.
    ["--pass-environment", "--port", "0", "--", ...starts.slow(7, ["uvx", MCP_SERVER_FETCH])],
    { env: uvEnvironment() },
  );
  try {
    const base = await listeningBase(proxy);
    const tools = awaitedLater(toolNames(`${base}/mcp`));
    await proxy.waitForStderr(/MCP server 'default' running/, SLOW_WAIT_MS);
    assert.deepEqual(await tools, ["fetch"]);
    assert.equal(starts.count(), 1, "the child was started once");
    assertCleanStart(proxy.stderr);
  } finally {
    await proxy.stop();
    starts.remove();
  }
}

/**
 * A slow legacy server that ignores `server/discover`: once it has answered the ping it is
 * started again for `initialize` (never sent on the connection whose probe is unanswered).
 */
async function slowQuietLegacy(): Promise<void> {
  const starts = new StartCounter();
  const proxy = startProxy(["--port", "0", "--", ...starts.slow(7, ["node", QUIET_LEGACY])]);
  try {
    const base = await listeningBase(proxy);
    const tools = awaitedLater(toolNames(`${base}/mcp`));
    await proxy.waitForStderr(/MCP server 'default' running: quiet-legacy/, SLOW_WAIT_MS);
    assert.deepEqual(await tools, ["echo"]);
    assert.match(
      proxy.stderr,
      /MCP server 'default' answers ping but not server\/discover: a legacy server; starting it again for the initialize handshake\n/,
    );
    assert.equal(starts.count(), 2, "started once more, for initialize");
    assert.doesNotMatch(proxy.stderr, /^\[E /m);
  } finally {
    await proxy.stop();
    starts.remove();
  }
}

Deno.test("slow starts (7 s and 20 s) of every era: server mode waits for the probe's answer, client mode detects through it, uvx mcp-server-fetch serves", async () => {
  const cases: Record<string, () => Promise<void>> = {};
  for (const server of SERVERS) {
    for (const seconds of DELAYS) {
      const through = seconds === DELAYS[0] ? "client mode" : "direct";
      cases[`${server.name}, ${seconds} s, ${through}`] = () =>
        slowDefaultServer(server, seconds, through);
    }
  }
  // Client mode's first probe waits 25 s (src/client/remote/detect.ts): the longer start fits too.
  cases[`${SERVERS[0].name}, ${DELAYS[1]} s, client mode`] = () =>
    slowDefaultServer(SERVERS[0], DELAYS[1], "client mode");
  cases["named servers"] = slowNamedServers;
  cases["uvx mcp-server-fetch"] = slowUvxFetch;
  cases["legacy server ignoring server/discover"] = slowQuietLegacy;
  await runConcurrently(cases);
});

Deno.test("a server that exits at once is started once, and the one line about it says what to do", async () => {
  const starts = new StartCounter();
  try {
    const withOutput = await runProxy([
      "--port",
      "0",
      "--",
      "sh",
      "-c",
      `echo start >> '${starts.path}'; echo 'missing API token' >&2; exit 3`,
    ]);
    assert.equal(withOutput.code, 1);
    assert.equal(starts.count(), 1, "started once");
    assert.equal(withOutput.stderr.split("[default] missing API token\n").length, 2, "once");
    const lines = withOutput.stderr.trimEnd().split("\n");
    assert.match(
      lines.at(-2)!,
      /^\[E .*\] MCP server 'default' \(command 'sh'\) exited \(code 3\) before it was initialised; its stderr is above\. Check the command and its arguments by running it by hand; a server that needs variables of the proxy's environment gets them with -e NAME VALUE or --pass-environment$/,
    );
    assert.match(lines.at(-1)!, /No MCP server could start \('sh -c .*'\)\. Exiting\.$/);
    assert.doesNotMatch(withOutput.stderr, /retrying|era probe|a legacy server/);

    const silent = await runProxy(["--port", "0", "--", "sh", "-c", "exit 4"]);
    assert.equal(silent.code, 1);
    assert.match(
      silent.stderr,
      /exited \(code 4\) before it was initialised; it wrote nothing to stderr\./,
    );
  } finally {
    starts.remove();
  }
});

Deno.test("a server that fails its first start next to one that runs is retried, as its log says", async () => {
  const starts = new StartCounter();
  const proxy = startProxy([
    "--port",
    "0",
    "--named-server",
    "broken",
    `sh -c "echo start >> '${starts.path}'; exit 3"`,
    "--named-server",
    "good",
    commandString(["node", `${ROOT}tests/fixtures/era_legacy_server.mjs`]),
  ]);
  try {
    await proxy.waitForStderr(/via Streamable HTTP:\n/);
    await proxy.waitForStderr(/MCP server 'broken': retrying in \d+ ms\n/);
    await eventually(() => starts.count() >= 2, "the announced retry happens");
    assert.match(proxy.stderr, /Serving without 'broken' until it starts/);
  } finally {
    await proxy.stop();
    starts.remove();
  }
});

Deno.test("a legacy server that exits on server/discover, quoting it in its crash report, is started again for initialize", async () => {
  const starts = new StartCounter();
  const proxy = startProxy([
    "--port",
    "0",
    "--",
    "sh",
    "-c",
    `echo start >> '${starts.path}'; exec "$0" "$@"`,
    "node",
    QUIET_LEGACY,
    "--exit-on-unknown",
  ]);
  try {
    const base = await listeningBase(proxy);
    await proxy.waitForStderr(/MCP server 'default' running: quiet-legacy/);
    assert.deepEqual(await toolNames(`${base}/mcp`), ["echo"]);
    assert.match(
      proxy.stderr,
      /MCP server 'default' exited \(code 1\) on server\/discover: a legacy server; starting it again for the initialize handshake\n/,
    );
    assert.equal(starts.count(), 2);
    assert.doesNotMatch(proxy.stderr, /^\[E /m);
  } finally {
    await proxy.stop();
    starts.remove();
  }
});
