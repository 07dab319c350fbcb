/**
 * The server side of `Mcp-Param-*` headers: the check of a call's headers against its
 * arguments, and the guard that learns which parameters each tool mirrors from `tools/list`.
 */
import assert from "node:assert/strict";
import { checkParamHeaders } from "../../../../src/protocol/http_classify.ts";
import { decodeHeaderValue } from "../../../../src/protocol/headers.ts";
import { ParamHeaderGuard, type ToolLister } from "../../../../src/server/http/param_guard.ts";

/** A tool list page: `whoami` mirrors `tenant` as `header`. */
function whoamiPage(header: string, nextCursor?: string) {
  return {
    tools: [{
      name: "whoami",
      inputSchema: {
        type: "object",
        properties: { tenant: { type: "string", "x-mcp-header": header } },
      },
    }],
    ...(nextCursor ? { nextCursor } : {}),
  };
}

/** A lister that answers `pages` in turn (by cursor) and counts the listings begun. */
function lister(pages: () => Record<string, unknown>[]): ToolLister & { listings: number } {
  const list = Object.assign(
    (cursor: string | undefined) => {
      if (cursor === undefined) list.listings++;
      return Promise.resolve(pages()[Number(cursor ?? 0)]);
    },
    { listings: 0 },
  );
  return list;
}

Deno.test("checkParamHeaders: present values need matching headers, absent ones none", () => {
  const declared = [{ name: "Tenant", path: ["tenant"] }, { name: "N", path: ["o", "n"] }];
  const check = (args: unknown, headers: Record<string, string>) =>
    checkParamHeaders(new Headers(headers), 7, args, declared)?.body.error?.code;
  assert.equal(
    check({ tenant: "a", o: { n: 3 } }, { "mcp-param-tenant": "a", "mcp-param-n": "3.0" }),
    undefined,
  );
  assert.equal(check({}, {}), undefined);
  assert.equal(check({ tenant: null }, {}), undefined);
  assert.equal(check({ tenant: "a" }, {}), -32020);
  assert.equal(check({}, { "mcp-param-tenant": "a" }), -32020);
  assert.equal(check({ tenant: "a" }, { "mcp-param-tenant": "b" }), -32020);
  assert.equal(check({ o: { n: 3 } }, { "mcp-param-n": "3e0" }), undefined);
  assert.equal(
    check({ o: { n: 3 } }, { "mcp-param-n": " 3" }),
    undefined,
    "white space is trimmed",
  );
  assert.equal(check({ o: { n: 3 } }, { "mcp-param-n": "+3" }), -32020);
  // A key of the prototype is no value: nothing to mirror, no header expected.
  const onPrototype = [{ name: "C", path: ["constructor"] }];
  assert.equal(checkParamHeaders(new Headers(), 8, {}, onPrototype), undefined);
});

Deno.test("decodeHeaderValue refuses plain values a header may not carry, and loose base64", () => {
  assert.equal(decodeHeaderValue("plain value"), "plain value");
  assert.equal(decodeHeaderValue("caf\u00e9"), undefined);
  assert.equal(decodeHeaderValue("=?base64?Y2Fmw6k=?="), "caf\u00e9");
  assert.equal(decodeHeaderValue("=?base64?/w==?="), undefined, "not UTF-8");
  assert.equal(decodeHeaderValue("=?base64?SGVsbG8?="), undefined, "unpadded");
  assert.equal(decodeHeaderValue("=?base64?SGVs bG8=?="), undefined, "white space inside");
  assert.equal(decodeHeaderValue("=?base64?SGVsbG8=?="), "Hello");
  assert.equal(decodeHeaderValue("=?base64??="), "");
});

Deno.test("the guard lists every page once for calls that wait together, and keeps what it learnt", async () => {
  const list = lister(
    () => [{ tools: [{ name: "plain", inputSchema: {} }], nextCursor: "1" }, whoamiPage("Tenant")],
  );
  const guard = new ParamHeaderGuard(list);
  const call = { name: "whoami", arguments: { tenant: "acme" } };
  const verdicts = await Promise.all([
    guard.check(new Headers({ "mcp-param-tenant": "acme" }), 1, call),
    guard.check(new Headers({ "mcp-param-tenant": "evil" }), 2, call),
  ]);
  assert.equal(list.listings, 1);
  assert.equal(verdicts[0], undefined);
  assert.equal(verdicts[1]?.body.error?.code, -32020);
  // Known now: a matching call is judged at once, without a listing.
  const known = guard.check(new Headers({ "mcp-param-tenant": "acme" }), 3, call);
  assert.equal(known, undefined);
  assert.equal(list.listings, 1);
});

Deno.test("the guard lists again when a call fails the check, or names a header not declared", async () => {
  let header = "Tenant";
  const list = lister(() => [whoamiPage(header)]);
  const guard = new ParamHeaderGuard(list);
  guard.learn(whoamiPage("Tenant"));
  const call = { name: "whoami", arguments: { tenant: "acme" } };
  header = "Org";
  assert.equal(await guard.check(new Headers({ "mcp-param-org": "acme" }), 1, call), undefined);
  assert.equal(list.listings, 1);
  // A fresh listing is the truth: the old header is refused on it, with no listing more.
  const stale = await guard.check(new Headers({ "mcp-param-tenant": "acme" }), 2, call);
  assert.equal(stale?.body.error?.code, -32020);
  assert.equal(list.listings, 1);
});

Deno.test("calls of a tool the server does not list cost it one listing, not one each", async () => {
  const list = lister(() => [whoamiPage("Tenant")]);
  const guard = new ParamHeaderGuard(list);
  for (let id = 0; id < 20; id++) {
    const call = { name: "hidden", arguments: {} };
    assert.equal(await guard.check(new Headers({}), id, call), undefined);
  }
  assert.equal(list.listings, 1);
});

Deno.test("a server that cannot list leaves the guard with what it knew", async () => {
  const guard = new ParamHeaderGuard(() => Promise.reject(new Error("down")));
  guard.learn(whoamiPage("Tenant"));
  const call = { name: "whoami", arguments: { tenant: "acme" } };
  const refusal = await guard.check(new Headers({}), 1, call);
  assert.equal(refusal?.body.error?.code, -32020);
  assert.equal(
    await guard.check(new Headers({}), 2, { name: "unknown", arguments: {} }),
    undefined,
  );
});

Deno.test("on a fresh listing a call is judged without reading every header name", async () => {
  const list = lister(() => [whoamiPage("Tenant")]);
  const guard = new ParamHeaderGuard(list);
  const call = { name: "whoami", arguments: { tenant: "acme" } };
  /** Headers that count how often their names are listed (a sorted copy each, in Deno). */
  const counted = (init: Record<string, string>) => {
    const headers = new Headers(init);
    const listed = { count: 0 };
    return Object.assign(headers, {
      listed,
      keys: () => {
        listed.count++;
        return Headers.prototype.keys.call(headers);
      },
    });
  };
  assert.equal(await guard.check(counted({ "mcp-param-tenant": "acme" }), 1, call), undefined);
  assert.equal(list.listings, 1);
  const matching = counted({ "mcp-param-tenant": "acme" });
  assert.equal(guard.check(matching, 2, call), undefined);
  const failing = counted({ "mcp-param-tenant": "evil" });
  assert.equal(
    (guard.check(failing, 3, call) as { body: { error?: { code: number } } })
      .body.error?.code,
    -32020,
  );
  const undeclared = counted({ "mcp-param-tenant": "acme", "mcp-param-other": "x" });
  assert.equal(guard.check(undeclared, 4, call), undefined);
  assert.deepEqual([matching.listed.count, failing.listed.count, undeclared.listed.count], [
    0,
    0,
    0,
  ]);
  assert.equal(list.listings, 1);
});
