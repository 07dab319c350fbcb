/** W3C traceparent parsing and writing, and the ids made for new spans. */
import assert from "node:assert/strict";
import {
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
} from "../../../../src/core/observe/trace_context.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

Deno.test("parseTraceparent reads version 00 and later ones, and refuses what is invalid", async (t) => {
  const valid: [string, boolean][] = [
    [`00-${TRACE}-${SPAN}-01`, true],
    [`00-${TRACE}-${SPAN}-00`, false],
    [` 00-${TRACE}-${SPAN}-03 `, true],
    [`01-${TRACE}-${SPAN}-01-future-fields`, true],
  ];
  for (const [value, sampled] of valid) {
    await t.step(
      value,
      () => assert.deepEqual(parseTraceparent(value), { traceId: TRACE, spanId: SPAN, sampled }),
    );
  }
  const invalid = [
    undefined,
    42,
    "",
    `ff-${TRACE}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${"0".repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${"0".repeat(16)}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}`,
  ];
  for (const value of invalid) {
    await t.step(String(value), () => assert.equal(parseTraceparent(value), undefined));
  }
});

Deno.test("formatTraceparent writes version 00, and reads back", () => {
  const context = { traceId: TRACE, spanId: SPAN, sampled: true };
  assert.equal(formatTraceparent(context), `00-${TRACE}-${SPAN}-01`);
  assert.deepEqual(parseTraceparent(formatTraceparent({ ...context, sampled: false })), {
    ...context,
    sampled: false,
  });
});

Deno.test("new ids are random lower-case hex of the right length", () => {
  const traces = new Set(Array.from({ length: 100 }, newTraceId));
  const spans = new Set(Array.from({ length: 100 }, newSpanId));
  assert.equal(traces.size, 100);
  assert.equal(spans.size, 100);
  for (const id of traces) assert.match(id, /^[0-9a-f]{32}$/);
  for (const id of spans) assert.match(id, /^[0-9a-f]{16}$/);
});
