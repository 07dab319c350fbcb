/**
 * The conformance suite's client authorization scenarios of 2026-07-28 (`auth/*` in
 * `--requirements 2026-07-28`), with mcp-proxy in client mode signing in: a small stdio client
 * (tests/conformance/oauth_stdio_driver.ts) drives it, and the browser step is a `$BROWSER`
 * command that fetches the authorization URL and follows its redirects.
 */
import assert from "node:assert/strict";
import { runClientScenario } from "../support/conformance.ts";
import { ROOT } from "../support/paths.ts";

const DRIVER = `"${Deno.execPath()}" run -A "${ROOT}tests/conformance/oauth_stdio_driver.ts"`;

/** The scored `auth/*` client scenarios of the 2026-07-28 requirement set. */
const SCENARIOS = [
  "metadata-default",
  "metadata-var1",
  "metadata-var2",
  "metadata-var3",
  "basic-cimd",
  "scope-from-www-authenticate",
  "scope-from-scopes-supported",
  "scope-omitted-when-undefined",
  "scope-step-up",
  "scope-retry-limit",
  "token-endpoint-auth-basic",
  "token-endpoint-auth-post",
  "token-endpoint-auth-none",
  "pre-registration",
  "resource-mismatch",
  "offline-access-scope",
  "offline-access-not-supported",
  "authorization-server-migration",
  "iss-supported",
  "iss-not-advertised",
  "iss-supported-missing",
  "iss-wrong-issuer",
  "iss-unexpected",
  "iss-normalized",
  "metadata-issuer-mismatch",
].map((name) => `auth/${name}`);

/** Runs `tasks` with at most `limit` at once (each scenario is a few processes). */
async function pooled<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

Deno.test("conformance client authorization (2026-07-28): mcp-proxy signs in", async (t) => {
  const results = await pooled(
    SCENARIOS.map((scenario) => () => runClientScenario(scenario, DRIVER, "2026-07-28")),
    3,
  );
  for (const [i, scenario] of SCENARIOS.entries()) {
    await t.step(scenario, () => assert.ok(results[i].passed, results[i].output.slice(-6000)));
  }
});
