/**
 * The route table in process: which path and method reach which route, in which order the
 * checks run, and that CORS headers go on every answer (a refusal and a 404 included) while a
 * preflight is answered before any check. The same rules over real HTTP are in
 * tests/e2e/server_routes_test.ts and server_security_test.ts.
 */
import assert from "node:assert/strict";
import { type AppOptions, createProxyApp } from "../../../src/server/app.ts";
import { DEFAULT_APP_OPTIONS as OPTIONS } from "../../support/app_options.ts";
import { FakeSharedServer } from "../../support/fake_shared_server.ts";
import { ProxyMetrics } from "../../../src/core/observe/proxy_metrics.ts";
import { AppObserver } from "../../../src/server/observe/http_observer.ts";

/** Status and chosen headers of each request to an app built with `options`. */
async function answers(
  options: Partial<AppOptions>,
  requests: { method?: string; path: string; headers?: Record<string, string> }[],
): Promise<{ status: number; body: string; headers: Headers }[]> {
  const app = createProxyApp([
    { server: new FakeSharedServer(), pathPrefix: "" },
    { server: new FakeSharedServer("x"), pathPrefix: "/servers/x" },
  ], { ...OPTIONS, ...options });
  try {
    const results = [];
    for (const { method = "GET", path, headers = {} } of requests) {
      const request = new Request(`http://127.0.0.1:8080${path}`, {
        method,
        headers: { host: "127.0.0.1:8080", ...headers },
      });
      const response = await app.handle({ request });
      // An open event stream never ends: cancelled, not read.
      const stream = response.body !== null &&
        response.headers.get("content-type")?.startsWith("text/event-stream");
      const body = stream ? (await response.body?.cancel(), "(stream)") : await response.text();
      results.push({ status: response.status, body, headers: response.headers });
    }
    return results;
  } finally {
    await app.close();
  }
}

Deno.test("paths are matched exactly, escapes of unreserved characters decoded", async () => {
  const paths = ["/m%63p", "/servers/%78/mcp", "/mcp%2F", "/mcp/x", "/status/", "/sse/", "/STATUS"];
  const results = await answers({}, paths.map((path) => ({ method: "DELETE", path })));
  // DELETE without a session reaches /mcp (400); anything else is not a route (404).
  assert.deepEqual(results.map(({ status }) => status), [400, 400, 404, 404, 404, 404, 404]);
});

Deno.test("a method a route does not serve is 404, after the API key; HEAD is GET without a body", async () => {
  const key = { authorization: "Bearer k" };
  const results = await answers({ apiKeys: ["k"] }, [
    { method: "PUT", path: "/messages/" },
    { method: "PUT", path: "/messages/", headers: key },
    { method: "POST", path: "/status" },
    { method: "HEAD", path: "/status" },
    { method: "HEAD", path: "/sse", headers: key },
    { method: "HEAD", path: "/mcp", headers: key },
  ]);
  assert.deepEqual(results.map(({ status }) => status), [401, 404, 404, 200, 200, 405]);
  assert.deepEqual(results.slice(3).map(({ body }) => body), ["", "", ""]);
  assert.equal(results[3].headers.get("content-type"), "application/json");
  assert.equal(results[4].headers.get("content-type"), "text/event-stream");
});

Deno.test("/metrics: behind the API key on every method, then GET and HEAD only", async () => {
  const key = { authorization: "Bearer k" };
  const results = await answers(
    { apiKeys: ["k"], observer: new AppObserver(new ProxyMetrics(), undefined) },
    [
      { path: "/metrics" },
      { method: "POST", path: "/metrics" },
      { method: "POST", path: "/metrics", headers: key },
      { path: "/metrics", headers: key },
      { method: "HEAD", path: "/metrics", headers: key },
      { path: "/metrics", headers: { ...key, host: "evil.example" } },
    ],
  );
  assert.deepEqual(results.map(({ status }) => status), [401, 401, 404, 200, 200, 403]);
  assert.match(results[3].body, /^# (HELP|TYPE) /m);
});

Deno.test("the Host and Origin checks run before the API key, on every path", async () => {
  const results = await answers({ apiKeys: ["k"] }, [
    { path: "/nowhere", headers: { host: "evil.example" } },
    { path: "/mcp", headers: { origin: "http://evil.example" } },
    { path: "/mcp" },
  ]);
  assert.deepEqual(results.map(({ status }) => status), [403, 403, 401]);
  assert.equal(results[0].body, "Forbidden host: evil.example");
});

Deno.test("CORS: headers on refusals and 404s too; preflights answered before any check", async () => {
  const origin = "http://app.example";
  const results = await answers(
    { allowOrigins: [origin], exposeHeaders: ["mcp-session-id"], apiKeys: ["k"] },
    [
      { path: "/mcp", headers: { origin } },
      { path: "/nowhere", headers: { origin } },
      {
        method: "OPTIONS",
        path: "/mcp",
        headers: {
          origin,
          host: "evil.example",
          "access-control-request-method": "POST",
          "access-control-request-headers": "mcp-session-id , authorization",
        },
      },
      {
        method: "OPTIONS",
        path: "/mcp",
        headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
      },
    ],
  );
  assert.deepEqual(results.map(({ status }) => status), [401, 404, 204, 400]);
  for (const { headers } of results.slice(0, 3)) {
    assert.equal(headers.get("access-control-allow-origin"), origin);
    assert.equal(headers.get("access-control-expose-headers"), "mcp-session-id");
  }
  assert.equal(results[0].headers.get("vary"), "Origin");
  const preflight = results[2].headers;
  assert.equal(preflight.get("access-control-allow-headers"), "mcp-session-id,authorization");
  assert.equal(preflight.get("access-control-max-age"), "600");
  assert.equal(preflight.get("vary"), "Origin, Access-Control-Request-Headers");
  assert.equal(results[3].body, "Disallowed CORS origin");
});
