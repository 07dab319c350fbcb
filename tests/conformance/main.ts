/**
 * `deno task conformance`: runs the conformance suite's server requirement sets against each
 * conformance fixture, spoken to directly over HTTP and through mcp-proxy (stdio child), and
 * prints passed/total per cell, how many scenarios are lost through the proxy (pass
 * directly, fail through it) and how many it passes fewer than the dual-era fixture spoken
 * to directly (they all offer the same surface), then each cell's failing scenarios.
 * @module
 */
import {
  type Cell,
  FIXTURES,
  measureCell,
  missing,
  REQUIREMENT_SETS,
  score,
} from "../support/conformance.ts";

/** Cells measured at once (each runs two servers and two suites; the machine is small). */
const CONCURRENCY = 2;

const pairs = FIXTURES.flatMap((fixture) =>
  REQUIREMENT_SETS.map((requirements) => ({ fixture, requirements }))
);
const cells: Cell[] = new Array(pairs.length);
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < pairs.length) {
      const at = next++;
      cells[at] = await measureCell(pairs[at].fixture, pairs[at].requirements);
    }
  }),
);

/** The dual-era fixture spoken to directly: what any fixture should pass through the proxy. */
const reference = (cell: Cell) =>
  cells.find((other) =>
    other.fixture.name === "dual-era" && other.requirements === cell.requirements
  )!.direct;

const rows = [
  ["fixture", "requirements", "direct", "through proxy", "lost", "behind dual-era direct"],
  ...cells.map((cell) => [
    cell.fixture.name,
    cell.requirements,
    score(cell.direct),
    score(cell.proxy),
    String(cell.lost.length),
    String(missing(reference(cell), cell.proxy).length),
  ]),
];
const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
for (const row of rows) {
  console.log(row.map((value, column) => value.padEnd(widths[column])).join("  ").trimEnd());
}
for (const cell of cells) {
  const failing = [...cell.proxy.scored].filter(([, passed]) => !passed).map(([name]) => name);
  if (failing.length === 0) continue;
  console.log(`\nFailing through the proxy, ${cell.fixture.name} × ${cell.requirements}:`);
  if (cell.proxy.scored.size === 0 || !cell.proxy.output.includes("SUMMARY")) {
    console.log(`  (${cell.proxy.output})`);
  }
  for (const name of failing.sort()) {
    console.log(`  - ${name}${cell.lost.includes(name) ? "  (LOST: passes directly)" : ""}`);
  }
}
