/**
 * Redirects in client mode's own exchanges: followed within the origin when the method is
 * kept, refused to any other origin before anything is sent there.
 */
import assert from "node:assert/strict";
import {
  CrossOriginRedirectError,
  fetchWithinOrigin,
} from "../../../../src/client/remote/redirects.ts";

/** A fetch answering each URL from `routes` (status, location), recording what it was asked. */
function fakeFetch(routes: Record<string, [number, string?]>) {
  const asked: { url: string; method: string; body: unknown; redirect: unknown }[] = [];
  const fetch = (url: string | URL, init?: RequestInit) => {
    asked.push({
      url: String(url),
      method: init?.method ?? "GET",
      body: init?.body,
      redirect: init?.redirect,
    });
    const [status, location] = routes[String(url)] ?? [404];
    const headers = location ? { location } : undefined;
    return Promise.resolve(new Response(status === 200 ? "ok" : null, { status, headers }));
  };
  return { fetch, asked };
}

Deno.test("redirects: within the origin, followed with method and body when kept", async () => {
  const { fetch, asked } = fakeFetch({
    "http://a.test/old": [307, "/mcp"],
    "http://a.test/mcp": [200],
  });
  const response = await fetchWithinOrigin(fetch)("http://a.test/old", {
    method: "POST",
    body: "{}",
  });
  assert.equal(response.status, 200);
  assert.deepEqual(asked.map((a) => [a.url, a.method, a.body, a.redirect]), [
    ["http://a.test/old", "POST", "{}", "manual"],
    ["http://a.test/mcp", "POST", "{}", "manual"],
  ]);
});

Deno.test("redirects: a POST redirected with 302 is returned, not turned into a GET", async () => {
  const { fetch, asked } = fakeFetch({ "http://a.test/old": [302, "/mcp"] });
  const response = await fetchWithinOrigin(fetch)("http://a.test/old", { method: "POST" });
  assert.equal(response.status, 302);
  assert.equal(asked.length, 1);
});

Deno.test("redirects: another port, host or scheme is refused; the https upgrade is not", async (t) => {
  for (const target of ["http://a.test:8080/mcp", "http://b.test/mcp", "https://a.test:8443/mcp"]) {
    await t.step(target, async () => {
      const { fetch, asked } = fakeFetch({ "http://a.test/mcp": [307, target] });
      await assert.rejects(
        fetchWithinOrigin(fetch)("http://a.test/mcp", { method: "POST" }),
        CrossOriginRedirectError,
      );
      assert.equal(asked.length, 1, "the other origin was asked");
    });
  }
  const { fetch } = fakeFetch({
    "http://a.test/mcp": [308, "https://a.test/mcp"],
    "https://a.test/mcp": [200],
  });
  assert.equal((await fetchWithinOrigin(fetch)("http://a.test/mcp")).status, 200);
});

Deno.test("redirects: credentials added in the target's URL are refused", async () => {
  const { fetch } = fakeFetch({ "http://a.test/mcp": [307, "http://user:pw@a.test/mcp"] });
  await assert.rejects(fetchWithinOrigin(fetch)("http://a.test/mcp"), CrossOriginRedirectError);
});

Deno.test("redirects: a loop ends after five, with the last redirect returned", async () => {
  const { fetch, asked } = fakeFetch({ "http://a.test/mcp": [307, "/mcp"] });
  assert.equal((await fetchWithinOrigin(fetch)("http://a.test/mcp")).status, 307);
  assert.equal(asked.length, 6);
});
