/**
 * The V8 flags mcp-proxy ships with (scripts/v8_flags.ts) are the same everywhere they are
 * given outside TypeScript: `deno task start` and the release workflow's compile step.
 */
import assert from "node:assert/strict";
import { V8_FLAGS_ARGUMENT } from "../../../scripts/v8_flags.ts";
import { ROOT } from "../../support/paths.ts";

Deno.test("deno task start carries the V8 flags of the releases", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.equal(config.tasks.start, `deno run -A ${V8_FLAGS_ARGUMENT} main.ts`);
});

Deno.test("the release workflow compiles through the task that adds the V8 flags", async () => {
  const workflow = await Deno.readTextFile(`${ROOT}.github/workflows/release.yml`);
  assert.match(workflow, /run: deno task compile --target /);
  assert.doesNotMatch(workflow, /run: deno compile/);
});
