import assert from "node:assert/strict";
import { ShellWordsError, splitShellWords } from "../../../src/io/shell_words.ts";

Deno.test("splitShellWords matches Python's shlex.split", async (t) => {
  // Expected values are what Python 3.13's shlex.split returns for each input.
  const cases: [string, string[]][] = [
    ["", []],
    ["   ", []],
    ["uvx mcp-server-fetch", ["uvx", "mcp-server-fetch"]],
    ["  a\t b\nc  ", ["a", "b", "c"]],
    [`a "b c" d`, ["a", "b c", "d"]],
    [`a 'b "c" d'`, ["a", `b "c" d`]],
    [`a"b"c`, ["abc"]],
    [`a 'x\\y'`, ["a", "x\\y"]],
    [`"x\\"y"`, [`x"y`]],
    [`"x\\\\y"`, ["x\\y"]],
    [`"x\\ny"`, ["x\\ny"]],
    [`a\\ b`, ["a b"]],
    [`a\\'b`, ["a'b"]],
    [`'' ""`, ["", ""]],
    ["a #comment", ["a", "#comment"]],
    ["$HOME ~ *", ["$HOME", "~", "*"]],
  ];
  for (const [input, expected] of cases) {
    await t.step(JSON.stringify(input), () => assert.deepEqual(splitShellWords(input), expected));
  }
});

Deno.test("splitShellWords errors as shlex does", async (t) => {
  const cases: [string, string][] = [
    [`a 'b`, "No closing quotation"],
    [`a "b`, "No closing quotation"],
    [`"a\\`, "No escaped character"],
    [`a\\`, "No escaped character"],
  ];
  for (const [input, message] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(
        () => splitShellWords(input),
        (e) => e instanceof ShellWordsError && e.message === message,
      );
    });
  }
});
