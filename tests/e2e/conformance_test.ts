/**
 * The conformance suite's server requirement sets (2025-11-25 and 2026-07-28), run against
 * each conformance fixture spoken to directly over HTTP and through mcp-proxy (the fixture
 * as its stdio child). Nothing that passes directly may be lost through the proxy, and
 * since all fixtures offer the same surface, the proxy must make each of them pass what the
 * dual-era fixture passes directly (the legacy child for 2026-07-28 clients, the modern-only
 * child for 2025-11-25 ones). `deno task conformance` prints the same cells as a table.
 */
import assert from "node:assert/strict";
import {
  type Cell,
  FIXTURES,
  measureCell,
  missing,
  parseSummary,
  REQUIREMENT_SETS,
  type RequirementSet,
  score,
} from "../support/conformance.ts";

/** What each fixture must pass spoken to directly, or the comparisons prove nothing. */
const DIRECT_PASSES_ALL: Record<string, readonly RequirementSet[]> = {
  "legacy": ["2025-11-25"],
  "dual-era": ["2025-11-25", "2026-07-28"],
  "modern-only": ["2026-07-28"],
};

/**
 * What no bridge can give a modern client in front of a legacy child, and why. Each entry
 * must keep failing: a pass means the list is stale (the step checks both ways).
 */
const BEYOND_A_LEGACY_CHILD: Record<string, string> = {
  // The scenario checks the input keys the server chose ("user_name"); a legacy child's
  // server-to-client requests carry no key, so the proxy has to make its own.
  "input-required-result-basic-elicitation": "input keys are the server's to choose",
  // The child learns capabilities once, at the proxy's initialize, never per request: it
  // asks for elicitation although this client declared only sampling (the proxy refuses it
  // to the child with -32021, and the child fails the call).
  "input-required-result-capability-check": "a legacy child cannot see per-request capabilities",
  // The scenario drops an input_required call and expects the next call's answer within
  // 500 ms; the child's handler still waits on the dropped question, so the proxy holds other
  // calls for 5 s before it cancels the dropped one (a question must reach only its caller).
  "server-stateless": "a dropped round holds a legacy child's next call for 5 s",
};

const failingIn = (verdicts: ReadonlyMap<string, boolean>) =>
  [...verdicts].filter(([, passed]) => !passed).map(([name]) => name);

const gap = (what: string, names: string[], cell: Cell) =>
  `${what} (direct ${score(cell.direct)}, through the proxy ${score(cell.proxy)}):\n  ${
    names.join("\n  ")
  }\n${cell.proxy.output.slice(-4000)}`;

for (const requirements of REQUIREMENT_SETS) {
  Deno.test(`conformance ${requirements}: through the proxy as directly`, async (t) => {
    const cells: Cell[] = [];
    for (const fixture of FIXTURES) cells.push(await measureCell(fixture, requirements));
    const dualEra = cells.find((cell) => cell.fixture.name === "dual-era")!;
    for (const cell of cells) {
      await t.step(`${cell.fixture.name} fixture: nothing lost through the proxy`, () => {
        if (DIRECT_PASSES_ALL[cell.fixture.name].includes(requirements)) {
          assert.deepEqual(failingIn(cell.direct.scored), [], cell.direct.output);
        }
        assert.deepEqual(cell.lost, [], gap("lost through the proxy", cell.lost, cell));
      });
      await t.step(`${cell.fixture.name} fixture: as conformant as dual-era directly`, () => {
        const behind = missing(dualEra.direct, cell.proxy);
        const expected = cell.fixture.name === "legacy" && requirements === "2026-07-28"
          ? Object.keys(BEYOND_A_LEGACY_CHILD).sort()
          : [];
        assert.deepEqual(behind.sort(), expected, gap("behind the dual-era fixture", behind, cell));
      });
    }
  });
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
