/** The aggregate's names and cursor: prefixes, and a cursor that round-trips any text. */
import assert from "node:assert/strict";
import {
  decodeCursor,
  encodeCursor,
  ownerOfName,
  prefixedName,
} from "../../../../src/core/gateway/aggregate_names.ts";

Deno.test("a prefixed name leads to its member and its own name there", () => {
  const members = [{ prefix: "git" }, { prefix: "github" }];
  assert.equal(prefixedName("git", "__", "log"), "git__log");
  assert.deepEqual(ownerOfName(members, "__", "github__issues"), {
    member: members[1],
    name: "issues",
  });
  assert.deepEqual(ownerOfName(members, "__", "git__a__b"), { member: members[0], name: "a__b" });
  assert.equal(ownerOfName(members, "__", "git__"), undefined);
  assert.equal(ownerOfName(members, "__", "gitlab__x"), undefined);
});

Deno.test("the cursor: base64url JSON of the member and its own cursor, read back exactly", () => {
  for (const position of [{ server: "a" }, { server: "ünï/名", cursor: "page=2&x=\u{1F600}" }]) {
    const text = encodeCursor(position);
    assert.match(text, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeCursor(text), position);
  }
  assert.equal(encodeCursor({ server: "s", cursor: "c" }), "eyJzIjoicyIsImMiOiJjIn0");
  for (const bad of ["", "!!", "bm90IGpzb24", "WzFd", "eyJzIjoxfQ", "eyJzIjoiYSIsImMiOjF9"]) {
    assert.equal(decodeCursor(bad), undefined, bad);
  }
});
