import assert from "node:assert/strict";
import { resolveWindowsCommand } from "../../../src/runtime/windows.ts";

const env = { PATH: "C:\\node;C:\\tools\\", PATHEXT: ".COM;.EXE;.BAT;.CMD" };
const files = new Set([
  "C:\\node\\npx.cmd",
  "C:\\node\\node.exe",
  "C:\\tools\\uvx.exe",
  "C:\\tools\\x.ps1",
]);
// Windows file names are case-insensitive: PATHEXT's ".CMD" finds "npx.cmd".
const isFile = (path: string) =>
  [...files].some((file) => file.toLowerCase() === path.toLowerCase());

Deno.test("a bare command resolves through PATH and PATHEXT", async (t) => {
  await t.step("npx -> npx.cmd through cmd.exe", () => {
    assert.deepEqual(resolveWindowsCommand("npx", ["-y", "pkg"], env, isFile), {
      command: "cmd.exe",
      args: ["/d", "/s", "/c", "C:\\node\\npx.CMD", "-y", "pkg"],
    });
  });
  await t.step("uvx -> uvx.exe, run directly, trailing backslash in PATH handled", () => {
    assert.deepEqual(resolveWindowsCommand("uvx", ["a"], env, isFile), {
      command: "C:\\tools\\uvx.EXE",
      args: ["a"],
    });
  });
  await t.step("Path spelt in mixed case is found", () => {
    const mixed = { Path: env.PATH, PathExt: env.PATHEXT };
    assert.equal(resolveWindowsCommand("node", [], mixed, isFile).command, "C:\\node\\node.EXE");
  });
  await t.step("a command with an extension or not found is left as it is", () => {
    assert.deepEqual(resolveWindowsCommand("x.ps1", [], env, isFile).command, "C:\\tools\\x.ps1");
    assert.deepEqual(resolveWindowsCommand("missing", ["a"], env, isFile), {
      command: "missing",
      args: ["a"],
    });
  });
});
