/**
 * `deno task conformance`: runs the conformance suite's server requirement sets against each
 * conformance fixture, spoken to directly over HTTP and through mcp-proxy (stdio child), and
 * prints passed/total per cell, then the scenarios lost through the proxy.
 * @module
 */
import {
  type Cell,
  FIXTURES,
  measureCell,
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

const rows = [
  ["fixture", "requirements", "direct", "through proxy", "lost"],
  ...cells.map((cell) => [
    cell.fixture.name,
    cell.requirements,
    score(cell.direct),
    score(cell.proxy),
    String(cell.lost.length),
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
