/**
 * The aggregate's resource routes: RFC 6570 templates matched loosely by their operators, the
 * first configured member winning a URI two list, and what a member that left had listed.
 */
import assert from "node:assert/strict";
import { ResourceRoutes, templatePattern } from "../../../../src/core/gateway/resource_routes.ts";
import { quietLog } from "./stub_member.ts";

Deno.test("templatePattern: each expression matches what its operator expands to", () => {
  const cases: [string, string[], string[]][] = [
    ["file:///{name}", ["file:///a.txt"], ["file:///a/b", "file:///", "file:///a?x"]],
    ["demo://text/{id}", ["demo://text/7"], ["demo://text/7/8", "demo://texts/7"]],
    ["repo://{+path}", ["repo://a/b/c", "repo://"], ["other://a"]],
    ["api://items{?page,size}", ["api://items", "api://items?page=2&size=3"], ["api://items/2"]],
    ["map://{x}{.ext}", ["map://a.json", "map://a"], ["map://a/b"]],
    ["tree://root{/path*}", ["tree://root/a/b", "tree://root"], ["tree://rootx"]],
    ["a.b://{x}", ["a.b://1"], ["aXb://1"]],
  ];
  for (const [template, matching, other] of cases) {
    const pattern = templatePattern(template)!;
    for (const uri of matching) assert.ok(pattern.test(uri), `${template} matches ${uri}`);
    for (const uri of other) assert.ok(!pattern.test(uri), `${template} does not match ${uri}`);
  }
  assert.equal(templatePattern("broken://{id"), undefined);
});

Deno.test("routes: the first configured member wins a URI, templates route the rest, forget drops", () => {
  const first = { name: "first" };
  const second = { name: "second" };
  let order = [first, second];
  const routes = new ResourceRoutes(() => order, quietLog);
  const listed = [{ uri: "x://shared" }, { uri: "x://second" }];
  assert.deepEqual(routes.recordResources(second, listed), listed);
  quietLog.warnings.length = 0;
  assert.deepEqual(routes.recordResources(first, [{ uri: "x://shared" }]), [{ uri: "x://shared" }]);
  assert.equal(routes.ownerOfUri("x://shared"), first);
  assert.deepEqual(routes.recordResources(second, listed), [{ uri: "x://second" }]);
  assert.equal(quietLog.warnings.length, 1, "the clash is logged once");

  routes.recordTemplates(second, [{ uriTemplate: "t://{id}" }], true);
  routes.recordTemplates(second, [{ uriTemplate: "u://{id}" }], false);
  assert.equal(routes.ownerOfUri("u://1"), second);
  assert.equal(routes.ownerOfTemplate("t://{id}"), second);
  routes.recordTemplates(second, [], true);
  assert.equal(routes.ownerOfUri("u://1"), undefined, "a first page replaces the templates");

  order = [first];
  assert.equal(routes.ownerOfUri("x://second"), undefined, "a member that left routes nothing");
  routes.forget(second);
  order = [first, second];
  assert.equal(routes.ownerOfUri("x://second"), undefined);
});
