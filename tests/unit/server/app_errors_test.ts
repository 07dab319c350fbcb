/**
 * Every 500 the HTTP application answers is logged, in one line; a long path segment is no
 * failure (a general router once overflowed its stack building its matcher for one).
 */
import assert from "node:assert/strict";
import { setLogSink } from "../../../src/io/log.ts";
import { createProxyApp } from "../../../src/server/app.ts";
import { DEFAULT_APP_OPTIONS as OPTIONS } from "../../support/app_options.ts";
import { FakeSharedServer } from "../../support/fake_shared_server.ts";

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

Deno.test("a server under a path segment of thousands of characters is served", async () => {
  const longPrefix = `/servers/${"a".repeat(3_000)}`;
  const app = createProxyApp([{ server: new FakeSharedServer(), pathPrefix: longPrefix }], OPTIONS);
  const lines = await logged(async () => {
    for (const path of ["/status", `${longPrefix}/sse`]) {
      const response = await app.handle({ request: new Request(`http://127.0.0.1${path}`) });
      await response.body?.cancel();
      assert.equal(response.status, 200, path);
    }
  });
  assert.deepEqual(lines, []);
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
    const response = await app.handle({ request: new Request("http://127.0.0.1/sse") });
    await response.body?.cancel();
    status = response.status;
  });
  assert.equal(status, 500);
  assert.equal(lines.length, 1, lines.join(""));
  assert.match(lines[0], /GET \/sse answered 500: Error: no session for you/);
  await app.close();
});
