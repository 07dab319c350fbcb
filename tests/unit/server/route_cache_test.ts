import assert from "node:assert/strict";
import { TrieRouter } from "../../../src/deps.ts";
import { CachedRouter } from "../../../src/server/route_cache.ts";

/** A TrieRouter that counts its searches. */
function countingRouter() {
  const inner = new TrieRouter<string>();
  const counted = { searches: 0 };
  const match = inner.match.bind(inner);
  inner.match = (method, path) => {
    counted.searches++;
    return match(method, path);
  };
  return { inner, counted };
}

/** The handlers of a match and the NAME parameter of the last one, as Hono reads them. */
function handlersOf(router: { match: TrieRouter<string>["match"] }, method: string, path: string) {
  const [handlers] = router.match(method, path) as [[string, Record<string, string>][]];
  return handlers.map(([handler, params]) => params.name ? `${handler}(${params.name})` : handler);
}

Deno.test("the cached router answers as the router does, and searches once per method and path", () => {
  const { inner, counted } = countingRouter();
  const router = new CachedRouter(inner);
  router.add("ALL", "/mcp", "guard");
  router.add("POST", "/mcp", "mcp");
  router.add("ALL", "/servers/:name/mcp", "named");
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(handlersOf(router, "POST", "/mcp"), ["guard", "mcp"]);
    assert.deepEqual(handlersOf(router, "GET", "/mcp"), ["guard"]);
    assert.deepEqual(handlersOf(router, "GET", "/servers/a/mcp"), ["named(a)"]);
    assert.deepEqual(handlersOf(router, "GET", "/servers/b/mcp"), ["named(b)"]);
    assert.deepEqual(handlersOf(router, "GET", "/nowhere"), []);
  }
  assert.equal(counted.searches, 5);
  assert.equal(router.name, "cached TrieRouter");
});

Deno.test("a route added later is found: adding forgets every answer", () => {
  const { inner } = countingRouter();
  const router = new CachedRouter(inner);
  router.add("GET", "/status", "status");
  assert.deepEqual(handlersOf(router, "GET", "/metrics"), []);
  router.add("GET", "/metrics", "metrics");
  assert.deepEqual(handlersOf(router, "GET", "/metrics"), ["metrics"]);
});

Deno.test("long paths are searched each time, and made-up paths never grow the cache past its bound", () => {
  const { inner, counted } = countingRouter();
  const router = new CachedRouter(inner);
  router.add("ALL", "/servers/:name/mcp", "named");
  const long = `/servers/${"n".repeat(3_000)}/mcp`;
  assert.deepEqual(handlersOf(router, "GET", long), [`named(${"n".repeat(3_000)})`]);
  assert.deepEqual(handlersOf(router, "GET", long), [`named(${"n".repeat(3_000)})`]);
  assert.equal(counted.searches, 2);

  for (let i = 0; i < 1_000; i++) router.match("GET", `/made-up/${i}`);
  counted.searches = 0;
  // The answers kept are a bounded set: the earliest made-up paths were let go.
  router.match("GET", "/made-up/0");
  assert.equal(counted.searches, 1);
  router.match("GET", "/made-up/0");
  assert.equal(counted.searches, 1);
});
