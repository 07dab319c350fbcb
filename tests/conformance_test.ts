/**
 * The conformance suite's server requirement sets (2025-11-25 and 2026-07-28), run against
 * each conformance fixture spoken to directly over HTTP and through mcp-proxy (the fixture
 * as its stdio child): nothing that passes directly may be lost through the proxy.
 * `deno task conformance` prints the same cells as a table, with the scenarios lost.
 */
import assert from "node:assert/strict";
import {
  FIXTURES,
  measureCell,
  parseSummary,
  REQUIREMENT_SETS,
  type RequirementSet,
  score,
} from "./support/conformance.ts";

/** What each fixture must pass spoken to directly, or the comparison proves nothing. */
const DIRECT_PASSES_ALL: Record<string, readonly RequirementSet[]> = {
  "legacy": ["2025-11-25"],
  "dual-era": ["2025-11-25", "2026-07-28"],
  "modern-only": ["2026-07-28"],
};

for (const fixture of FIXTURES) {
  for (const requirements of REQUIREMENT_SETS) {
    Deno.test(`conformance ${requirements}: ${fixture.name} fixture loses nothing through the proxy`, async () => {
      const cell = await measureCell(fixture, requirements);
      if (DIRECT_PASSES_ALL[fixture.name].includes(requirements)) {
        const failing = [...cell.direct.scored].filter(([, passed]) => !passed).map(([n]) => n);
        assert.deepEqual(failing, [], `direct ${score(cell.direct)}:\n${cell.direct.output}`);
      }
      assert.deepEqual(
        cell.lost,
        [],
        `direct ${score(cell.direct)}, through the proxy ${score(cell.proxy)}; lost:\n  ${
          cell.lost.join("\n  ")
        }\n${cell.proxy.output.slice(-4000)}`,
      );
    });
  }
}

Deno.test("parseSummary separates scored from not-scored scenarios", () => {
  const result = parseSummary(
    "2026-07-28",
    [
      "=== SUMMARY ===",
      "✓ tools-list: 2 passed, 0 failed",
      "✗ caching: 0 passed, 7 failed",
      "✗ tasks-lifecycle: 1 passed, 8 failed",
      "",
      "Total: 3 passed, 15 failed",
      "",
      "Not scored for 2026-07-28: 1 scenario(s) run, 1 failing.",
      "  ✗ tasks-lifecycle (extension)",
    ].join("\n"),
  );
  assert.deepEqual([...result.scored], [["tools-list", true], ["caching", false]]);
  assert.deepEqual([...result.notScored], [["tasks-lifecycle", false]]);
});
