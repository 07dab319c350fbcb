import assert from "node:assert/strict";
import {
  formatTimestamp,
  getLogger,
  maskCommandLine,
  maskSecrets,
  sessionIdForLog,
  setLogFormat,
  setLogLevel,
  setLogSink,
} from "../../../src/io/log.ts";

Deno.test("maskSecrets hides Authorization, X-API-Key and Cookie values and bearer tokens", async (t) => {
  const cases: [string, string][] = [
    ["Authorization: Bearer abc.def", "Authorization: ***"],
    ['{"authorization":"Basic dXNlcjpwYXNz"}', '{"authorization":"***"}'],
    ["x-api-key=k3y", "x-api-key=***"],
    ["X-API-Key: k3y, other", "X-API-Key: ***, other"],
    ["Cookie: a=1; b=2", "Cookie: ***"],
    ["sent Bearer eyJhbGciOi.x-y_z", "sent Bearer ***"],
    ["nothing secret here", "nothing secret here"],
    [
      "node s.js --token=abc token=xyz GITHUB_TOKEN=ghp_1",
      "node s.js --token=*** token=*** GITHUB_TOKEN=***",
    ],
    ["GET /t?access_token=q1&page=2", "GET /t?access_token=***&page=2"],
    [
      "--client_secret=s --api-key=k --password=p",
      "--client_secret=*** --api-key=*** --password=***",
    ],
    // Where a secret is, not the secret; and prose.
    ["--token-url=https://a/t --password-file=/p", "--token-url=https://a/t --password-file=/p"],
    ["an access token valid for 60 s", "an access token valid for 60 s"],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => assert.equal(maskSecrets(input), expected));
  }
});

Deno.test("maskCommandLine hides the value after a secret-looking option", async (t) => {
  const cases: [string, string][] = [
    ["npx s --api-key k1 --timeout 10", "npx s --api-key *** --timeout 10"],
    ["s -password p --secret-key  k", "s -password *** --secret-key  ***"],
    ["s --token --verbose", "s --token --verbose"],
    ["s --token-url https://a/t --token-file /f", "s --token-url https://a/t --token-file /f"],
  ];
  for (const [input, expected] of cases) {
    await t.step(input, () => assert.equal(maskCommandLine(input), expected));
  }
});

Deno.test("log lines have the original's layout, go through the level filter and are masked", () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    setLogLevel("WARNING");
    const log = getLogger("mcp_proxy.test");
    log.info("hidden");
    log.warning("headers Authorization: Bearer t0ken");
    log.error("failed\n    at somewhere");
  } finally {
    restore();
    setLogLevel("INFO");
  }
  assert.equal(lines.length, 2);
  assert.match(
    lines[0],
    /^\[W \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} mcp_proxy\.test\] headers Authorization: \*\*\*\n$/,
  );
  // One line per event: a stack's line breaks are kept as `\n`.
  assert.match(lines[1], /^\[E [^\]]+ mcp_proxy\.test\] failed\\n {4}at somewhere\n$/);
});

Deno.test("formatTimestamp uses local time with comma-separated milliseconds", () => {
  assert.equal(formatTimestamp(new Date(2026, 0, 2, 3, 4, 5, 6)), "2026-01-02 03:04:05,006");
});

Deno.test("text lines ignore fields: the message alone, as before", () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    getLogger("mcp_proxy.test").info("a call", { server: "s", duration_ms: 1.5 });
  } finally {
    restore();
  }
  assert.match(lines[0], /^\[I [^\]]+ mcp_proxy\.test\] a call\n$/);
});

Deno.test("a text line's time is now's, formatted as formatTimestamp, in the next second too", async () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  const bounds: string[] = [];
  try {
    const log = getLogger("mcp_proxy.test");
    // Two seconds apart: the formatted second is reused only within its own.
    for (const wait of [0, 1_000]) {
      await new Promise((resolve) => setTimeout(resolve, wait));
      const before = formatTimestamp(new Date());
      log.info("now");
      bounds.push(before, formatTimestamp(new Date()));
    }
  } finally {
    restore();
  }
  assert.equal(lines.length, 2);
  lines.forEach((line, i) => {
    const time = line.slice(3, 26);
    assert.ok(bounds[2 * i] <= time && time <= bounds[2 * i + 1], `${time} in ${bounds}`);
  });
});

Deno.test("fields given as a function are built for JSON lines only", () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  let built = 0;
  const fields = () => {
    built++;
    return { server: "s", duration_ms: 2 };
  };
  try {
    const log = getLogger("mcp_proxy.test");
    log.info("as text", fields);
    assert.equal(built, 0);
    setLogFormat("json");
    log.info("as JSON", fields);
  } finally {
    restore();
    setLogFormat("text");
  }
  assert.equal(built, 1);
  assert.match(lines[0], /^\[I [^\]]+ mcp_proxy\.test\] as text\n$/);
  const line = JSON.parse(lines[1]);
  assert.deepEqual([line.message, line.server, line.duration_ms], ["as JSON", "s", 2]);
});

Deno.test("the JSON format writes one object per line: time, level, logger, message, fields", () => {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    setLogFormat("json");
    const log = getLogger("mcp_proxy.test");
    log.debug("hidden");
    log.warning("failed\n    at somewhere with Authorization: Bearer t0ken", {
      server: "s",
      uri: "file:///x?token=abc",
      duration_ms: 1.5,
      ok: false,
      absent: undefined,
      level: "not this one",
    });
  } finally {
    restore();
    setLogFormat("text");
  }
  assert.equal(lines.length, 1);
  assert.ok(lines[0].endsWith("}\n") && !lines[0].slice(0, -1).includes("\n"));
  const line = JSON.parse(lines[0]);
  assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual({ ...line, time: undefined }, {
    time: undefined,
    level: "WARNING",
    logger: "mcp_proxy.test",
    message: "failed\n    at somewhere with Authorization: ***",
    server: "s",
    uri: "file:///x?token=***",
    duration_ms: 1.5,
    ok: false,
  });
  assert.deepEqual(Object.keys(line).slice(0, 4), ["time", "level", "logger", "message"]);
});

Deno.test("a session id in logs: 8 characters, after an instance's id when it has one", () => {
  assert.equal(sessionIdForLog("9b2e1c4d-77aa-4c1e-9f00-123456789abc"), "9b2e1c4d…");
  assert.equal(sessionIdForLog("pod-0.9b2e1c4d-77aa-4c1e-9f00-123456789abc"), "pod-0.9b2e1c4d…");
});
