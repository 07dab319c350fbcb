/**
 * Where a JSON text stops being valid: the same offset as V8's `JSON.parse` reports (which Bun's
 * does not), and as a line and column.
 */
import assert from "node:assert/strict";
import { jsonErrorOffset, positionOf } from "../../../src/cli/json_error.ts";

/** The offset V8's JSON.parse names for `text`. */
function v8Offset(text: string): number | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    const position = / at position (\d+)/.exec(message);
    if (position) return Number(position[1]);
    // Short texts: V8 names the unexpected character instead.
    const token = /^Unexpected token '(.)'/.exec(message);
    return token ? text.indexOf(token[1]) : text.length;
  }
}

Deno.test("the offset of the first error is V8's, for every kind of mistake", () => {
  const broken = [
    '{\n  "mcpServers": {\n    "a": {"command": "echo",}\n  }\n}',
    '{\n  "mcpServers": {\n    "a": {"command": "echo"\n  }\n',
    '{"a": [1, 2,]}',
    '{"a": tru}',
    '{"a": "\\x"}',
    '{"a": "\\u12G4"}',
    '{"a": 01}',
    '{"a": 1.}',
    '{"a": -}',
    '{"a" 1}',
    "{'a': 1}",
    '{"a": 1} x',
    '{"a": "line\nbreak"}',
    "[",
    "",
    "   ",
    '{"a": nul}',
    '["é", }',
  ];
  for (const text of broken) {
    assert.equal(jsonErrorOffset(text), v8Offset(text), JSON.stringify(text));
  }
  const valid = ['{"a": [1, -2.5e3, true, false, null, "\\u00e9\\n"]}', " 7 ", '""', "[]", "{}"];
  for (const text of valid) assert.equal(jsonErrorOffset(text), undefined, text);
});

Deno.test("a position counts lines and columns from 1", () => {
  const text = '{\n  "a": 1,\n  x\n}';
  assert.deepEqual(positionOf(text, jsonErrorOffset(text)!), { line: 3, column: 3 });
  assert.deepEqual(positionOf("x", 0), { line: 1, column: 1 });
});
