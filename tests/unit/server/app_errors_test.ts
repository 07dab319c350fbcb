/**
 * Every 500 the HTTP application answers is logged, in one line: a failing handler, and the
 * router itself failing (it overflowed its stack building the matcher for a path segment of
 * some thousands of characters, outside of the router's error handler).
 */
import assert from "node:assert/strict";
import { DEFAULT_MAX_BODY_BYTES } from "../../../src/config.ts";
import { setLogSink } from "../../../src/io/log.ts";
import { createProxyApp } from "../../../src/server/app.ts";
import { FakeSharedServer } from "../../support/fake_shared_server.ts";

const OPTIONS = {
  stateless: false,
  allowOrigins: [],
  exposeHeaders: [],
  host: "127.0.0.1",
  apiKeys: [],
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
};

/** The log lines written while `body` runs. */
async function logged(body: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    await body();
  } finally {
    restore();
  }
  return lines;
}

Deno.test("a router that throws is answered 500 and logged in one line naming the request", async () => {
  const longPrefix = `/servers/${"a".repeat(3_000)}`;
  const app = createProxyApp([{ server: new FakeSharedServer(), pathPrefix: longPrefix }], OPTIONS);
  let status = 0;
  const lines = await logged(async () => {
    const response = await app.handle(new Request("http://127.0.0.1/status"));
    await response.body?.cancel();
    status = response.status;
  });
  assert.equal(status, 500);
  assert.equal(lines.length, 1, lines.join(""));
  assert.match(lines[0], /^\[E [^\]]+ mcp_proxy\.server\] GET \/status answered 500: RangeError/);
  assert.equal(lines[0].trimEnd().includes("\n"), false);
  await app.close();
});

Deno.test("a route whose handler throws is answered 500 and logged once", async () => {
  const server = new FakeSharedServer();
  server.openSession = () => {
    throw new Error("no session for you");
  };
  const app = createProxyApp([{ server, pathPrefix: "" }], OPTIONS);
  let status = 0;
  const lines = await logged(async () => {
    const response = await app.handle(new Request("http://127.0.0.1/sse"));
    await response.body?.cancel();
    status = response.status;
  });
  assert.equal(status, 500);
  assert.equal(lines.length, 1, lines.join(""));
  assert.match(lines[0], /GET \/sse answered 500: Error: no session for you/);
  await app.close();
});
