/**
 * The conformance suite's client scenarios of 2026-07-28 that need no sign-in, with
 * mcp-proxy in client mode as the client under test: a small stdio client
 * (tests/conformance/client_stdio_driver.ts) drives it, and the proxy speaks HTTP to the
 * scenario's server (headers mirrored, x-mcp-header parameters, invalid tools left out,
 * the version retried when refused).
 */
import assert from "node:assert/strict";
import { runClientScenario } from "../support/conformance.ts";
import { ROOT } from "../support/paths.ts";

const DRIVER = `"${Deno.execPath()}" run -A "${ROOT}tests/conformance/client_stdio_driver.ts"`;

const SCENARIOS = [
  "tools_call",
  "request-metadata",
  "http-standard-headers",
  "http-custom-headers",
  "http-invalid-tool-headers",
];

Deno.test("conformance client scenarios (2026-07-28): mcp-proxy's client mode passes", async (t) => {
  const results = await Promise.all(
    SCENARIOS.map((scenario) => runClientScenario(scenario, DRIVER, "2026-07-28")),
  );
  for (const [i, scenario] of SCENARIOS.entries()) {
    await t.step(scenario, () => assert.ok(results[i].passed, results[i].output.slice(-6000)));
  }
});
