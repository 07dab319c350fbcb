/**
 * Ours beside the Python original (mcp-proxy 0.13.0, installed by the test setup), on the same
 * inputs: the help text (two entries reworded), the `--username`/`--password`/`--digest`
 * errors, an integer option's error (from the source and from the bundle), and the shape of
 * `/status` with an open `/sse` stream.
 */
import assert from "node:assert/strict";
import { RunningProcess, runProxy } from "../support/process.ts";
import { runReadingLines, type RunResult } from "../support/run.ts";
import { ORIGINAL_MCP_PROXY } from "../support/python.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

/** Runs the original with `args` to completion. */
function runOriginal(args: string[]): Promise<RunResult> {
  // A fixed width, as our tests run with: argparse wraps the usage to COLUMNS.
  return runReadingLines(ORIGINAL_MCP_PROXY, args, { env: { COLUMNS: "80", NO_COLOR: "1" } });
}

/** Our options that the original does not have (README, Options: "additions"). */
const ADDITIONS = [
  "--oauth-client-id",
  "--oauth-client-secret",
  "--oauth-client-metadata-url",
  "--oauth-scope",
  "--oauth-resource",
  "--oauth-callback-port",
  "--oauth-token-file",
  "--oauth-sign-out",
  "--api-key",
  "--max-body-size",
  "--header-timeout",
  "--body-timeout",
  "--keep-alive-timeout",
  "--max-connections",
  "--watch-config",
  "--aggregate",
  "--instance-id",
  "--peer-url",
  "--state-key-file",
  "--drain-timeout",
  "--metrics",
  "--call-log",
  "--log-format",
  "--metrics-port",
  "--request-timeout",
  "--session-timeout",
];

/** The title of the group that holds only additions. */
const ADDITIONS_GROUP = "OAuth sign-in options (mcp-proxy additions):";

/** Help's usage (up to the first blank line) and the rest. */
function splitUsage(help: string): { usage: string; rest: string } {
  const end = help.indexOf("\n\n");
  return { usage: help.slice(0, end), rest: help.slice(end) };
}

/** The usage's items, `[--verify-ssl [VALUE]]` as one, wherever the lines wrap. */
function usageItems(usage: string): string[] {
  return usage.match(/\[(?:[^[\]]|\[[^\]]*\])*\]|\S+/g) ?? [];
}

/** Whether a usage item or help line is about one of our additions. */
function isAddition(text: string): boolean {
  const flag = /^\s*\[?(--[\w-]+)/.exec(text)?.[1];
  return flag !== undefined && ADDITIONS.includes(flag);
}

/** The help body without the additions' entries and group. */
function withoutAdditions(body: string): string {
  const kept: string[] = [];
  let skipping: "entry" | "group" | undefined;
  for (const line of body.split("\n")) {
    if (line === ADDITIONS_GROUP) skipping = "group";
    else if (skipping === "group" && /^\S.*:$/.test(line)) skipping = undefined;
    else if (skipping !== "group") {
      if (isAddition(line) && line.startsWith("  -")) skipping = "entry";
      // An entry's help continues on lines indented to the help column.
      else if (skipping === "entry" && !line.startsWith(" ".repeat(24))) skipping = undefined;
    }
    if (!skipping) kept.push(line);
  }
  return kept.join("\n");
}

/**
 * The original's help as Python 3.13's argparse lays it out, which the port follows (the
 * venv's Python may be older): an option with a short and a long name shows its metavar once,
 * `-H, --headers KEY VALUE`, and its help stays on that line when it fits in 20 columns.
 */
function laidOutAs313(help: string): string {
  const lines = help.split("\n");
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const both = /^ {2}(-\w) (.+), (--[\w-]+) \2$/.exec(lines[i]);
    if (!both) {
      out.push(lines[i]);
      continue;
    }
    const invocation = `${both[1]}, ${both[3]} ${both[2]}`;
    const next = lines[i + 1] ?? "";
    if (invocation.length <= 20 && next.startsWith(" ".repeat(24))) {
      out.push(`  ${invocation.padEnd(20)}  ${next.trimStart()}`);
      i++;
    } else {
      out.push(`  ${invocation}`);
    }
  }
  return out.join("\n");
}

/**
 * Help texts reworded because the original's misdescribes what both do: the transport is
 * detected (no default), and servers get a safe set of variables, not the whole environment.
 */
const REWORDED = [
  {
    original: "The transport to use for the client. Default is SSE.",
    ours: "The transport to use for the client. Default: detected from the server; " +
      "sse or streamablehttp force one.",
  },
  {
    original: "Environment variables used when spawning the default server. Can be used " +
      "multiple times. For named servers, environment is inherited or passed via " +
      "--pass-environment.",
    ours: "Environment variables used when spawning the default server. Can be used " +
      "multiple times. Every server gets only a safe set of the proxy's variables (such as " +
      "HOME and PATH) unless --pass-environment is given; named servers take their own from " +
      "a config file's env.",
  },
];

Deno.test("--help: the original's text, our additions and rewordings aside", async () => {
  const [ours, original] = await Promise.all([
    runProxy(["--help"], { env: { COLUMNS: "80", NO_COLOR: "1" } }),
    runOriginal(["--help"]),
  ]);
  assert.equal(original.code, 0, original.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.equal(ours.stderr, "");
  const theirs = splitUsage(laidOutAs313(original.stdout));
  const mine = splitUsage(ours.stdout);
  // Our additions make the usage wrap elsewhere: its items are compared, in order.
  assert.deepEqual(
    usageItems(mine.usage).filter((item) => !isAddition(item)),
    usageItems(theirs.usage),
  );
  let expected = theirs.rest;
  for (const { original, ours } of REWORDED) {
    assert.ok(expected.includes(original), `the original's help no longer says: ${original}`);
    expected = expected.replace(original, ours);
  }
  assert.equal(withoutAdditions(mine.rest), expected);
});

/** An address nothing listens on: neither proxy may get as far as connecting. */
const NOWHERE = "http://127.0.0.1:9/sse";

const MISSING_PAIR: string[][] = [
  ["--username", "user"],
  ["--password", "secret-password"],
  ["--digest"],
  ["--username", "user", "--digest"],
  ["--password", "secret-password", "--digest"],
  ["--username", "", "--password", "secret-password"],
  ["--client-id", "id", "--username", "user"],
];

Deno.test("--username without --password (and the like): the original's error and exit code", async (t) => {
  for (const flags of MISSING_PAIR) {
    await t.step(flags.join(" ") || "(empty)", async () => {
      const [ours, original] = await Promise.all([
        runProxy([...flags, NOWHERE]),
        runOriginal([...flags, NOWHERE]),
      ]);
      // The log line's prefix names the logger (ours: mcp_proxy; the original:
      // mcp_proxy.__main__) and the time: the level and the message must match.
      const message = (stderr: string) => stderr.replace(/^\[(\w) [^\]]*\] /gm, "[$1] ");
      assert.deepEqual(
        { code: ours.code, stdout: ours.stdout, stderr: message(ours.stderr) },
        { code: original.code, stdout: original.stdout, stderr: message(original.stderr) },
      );
      assert.equal(ours.code, 1);
      assert.equal(message(ours.stderr), "[E] Both --username and --password are required\n");
      assert.ok(!ours.stderr.includes("secret-password"));
    });
  }
});

/** Runs `deno` with `args` to completion. */
function runDeno(args: string[]): Promise<RunResult> {
  return runReadingLines(Deno.execPath(), args, { env: { NO_COLOR: "1" } });
}

/** The integer options the original has too, and those only we have. */
const INT_OPTIONS = ["--port", "--sse-port"];
const ADDED_INT_OPTIONS = [
  "--max-body-size",
  "--max-connections",
  "--request-timeout",
  "--session-timeout",
  "--oauth-callback-port",
];

/** The last line of argparse's error output (the usage before it differs by our additions). */
const errorLine = (stderr: string) => stderr.trimEnd().split("\n").at(-1);

Deno.test("an integer option given '80a82': the original's error and exit code, also bundled", async () => {
  // Bundled as the releases are (`deno task bundle`): the bundler renames functions, and
  // argparse names a type by its function's name.
  const directory = await Deno.makeTempDir();
  try {
    const bundle = `${directory}/mcp-proxy.js`;
    const bundling = await runDeno(["bundle", "--platform", "deno", "-o", bundle, "main.ts"]);
    assert.equal(bundling.code, 0, bundling.stderr);
    const runBundle = (args: string[]) => runDeno(["run", "-A", "--quiet", bundle, ...args]);
    for (const option of [...INT_OPTIONS, ...ADDED_INT_OPTIONS]) {
      const args = [`${option}=80a82`, NOWHERE];
      const runs = [runProxy(args), runBundle(args)];
      if (INT_OPTIONS.includes(option)) runs.push(runOriginal(args));
      for (const result of await Promise.all(runs)) {
        assert.deepEqual(
          { code: result.code, stdout: result.stdout, error: errorLine(result.stderr) },
          {
            code: 2,
            stdout: "",
            error: `mcp-proxy: error: argument ${option}: invalid int value: '80a82'`,
          },
        );
      }
    }
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

/** The original in server mode with the fixture server, once it listens. */
async function startOriginalServer(): Promise<{ process: RunningProcess; base: string }> {
  const process = new RunningProcess(
    ORIGINAL_MCP_PROXY,
    ["--port", "0", "--", "node", FIXTURE],
    { env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" } },
  );
  try {
    const [, base] = await process.waitForStderr(/Uvicorn running on (http:\/\/[\d.:]+)/, 60_000);
    return { process, base };
  } catch (error) {
    await process.stop("SIGKILL");
    throw error;
  }
}

/** Polls `/status` until `test` passes on it (at most 10 s), and returns it. */
async function statusWhen(
  base: string,
  test: (status: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const status = await (await fetch(`${base}/status`)).json();
    if (test(status) || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Opens `/sse` and reads up to its endpoint event (the original ends lines with CRLF): the
 * stream is then open on the server's side. Resolves to a function that closes it.
 */
async function openSse(base: string): Promise<() => Promise<void>> {
  const response = await fetch(`${base}/sse`, { headers: { accept: "text/event-stream" } });
  assert.equal(response.status, 200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/event: endpoint\r?\ndata: \S+/.test(text)) {
    const { value, done } = await reader.read();
    assert.ok(!done, `the stream ended after ${JSON.stringify(text)}`);
    text += value;
  }
  return () => reader.cancel();
}

Deno.test("/status: the original's fields, active_sse_connections counting open /sse streams", async () => {
  const original = await startOriginalServer();
  await using ours = await startServerProxy(["--port", "0", "--", "node", FIXTURE]);
  try {
    const shapes: Record<string, string[]> = {};
    for (const [name, base] of [["original", original.base], ["ours", ours.base]]) {
      const idle = await statusWhen(base, () => true);
      assert.equal(idle.active_sse_connections, 0, name);
      const streams = [await openSse(base), await openSse(base)];
      const open = await statusWhen(base, (s) => s.active_sse_connections === 2);
      assert.equal(open.active_sse_connections, 2, `${name}: ${JSON.stringify(open)}`);
      await streams[0]();
      const one = await statusWhen(base, (s) => s.active_sse_connections === 1);
      assert.equal(one.active_sse_connections, 1, `${name}: ${JSON.stringify(one)}`);
      await streams[1]();
      shapes[name] = Object.keys(open);
    }
    // Ours adds server_eras after the original's fields, which come in the original's order.
    assert.deepEqual(
      shapes.original,
      ["api_last_activity", "active_sse_connections", "server_instances"],
    );
    assert.deepEqual(shapes.ours.filter((key) => shapes.original.includes(key)), shapes.original);
  } finally {
    await original.process.stop();
  }
});
