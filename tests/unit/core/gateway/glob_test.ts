/**
 * Globs of the server filters: `*` and `?`, nothing else special, whole names, allow and deny.
 * @module
 */
import assert from "node:assert/strict";
import { compileNameFilter, restricts } from "../../../../src/core/gateway/glob.ts";

Deno.test("* stands for any run of characters, ? for one; the glob matches the whole name", () => {
  const kept = compileNameFilter({ allow: ["get-*", "r?n"] });
  assert.ok(kept("get-"));
  assert.ok(kept("get-sum"));
  assert.ok(kept("run"));
  assert.ok(kept("rün"), "? is one code point");
  assert.equal(kept("forget-sum"), false);
  assert.equal(kept("get"), false);
  assert.equal(kept("rn"), false);
  assert.equal(kept("ruin"), false);
  assert.equal(kept("Run"), false, "case counts");
  assert.ok(compileNameFilter({ allow: ["a*z"] })("a\nz"), "* spans line breaks too");
});

Deno.test("every other character is itself: regular expression syntax means nothing", () => {
  const kept = compileNameFilter({ allow: ["file:///docs/a.md", "x+(y)|[z]{1}^$\\-"] });
  assert.ok(kept("file:///docs/a.md"));
  assert.equal(kept("file:///docs/aXmd"), false);
  assert.ok(kept("x+(y)|[z]{1}^$\\-"));
  assert.equal(kept("xx(y)|[z]{1}^$\\-"), false);
  assert.equal(kept("x+y"), false);
});

Deno.test("a name passes when some allow glob matches and no deny glob does", () => {
  const kept = compileNameFilter({ allow: ["get-*", "echo"], deny: ["get-env", "*secret*"] });
  assert.ok(kept("echo"));
  assert.ok(kept("get-sum"));
  assert.equal(kept("get-env"), false);
  assert.equal(kept("get-secret-key"), false);
  assert.equal(kept("toggle"), false);
  const denyOnly = compileNameFilter({ deny: ["write-*"] });
  assert.ok(denyOnly("read-file"));
  assert.equal(denyOnly("write-file"), false);
  const none = compileNameFilter({ allow: [] });
  assert.equal(none("anything"), false, "an empty allow list keeps nothing");
  assert.ok(compileNameFilter({})("anything"));
});

Deno.test("restricts: only a filter with an allow list or some deny glob keeps names out", () => {
  assert.equal(restricts(undefined), false);
  assert.equal(restricts({}), false);
  assert.equal(restricts({ deny: [] }), false);
  assert.ok(restricts({ deny: ["x"] }));
  assert.ok(restricts({ allow: [] }));
  assert.ok(restricts({ allow: ["*"] }));
});
