import assert from "node:assert/strict";
import { killTree, type TreeSignals } from "../../../src/runtime/kill_tree.ts";

/** Signals that record what they were asked to do, throwing when `gone`. */
function recording(gone = false): TreeSignals & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    taskkill(pid) {
      asked.push(`taskkill ${pid}`);
      if (gone) throw new Error("no such process");
    },
    signalGroup(pid, signal) {
      asked.push(`${signal} to group ${pid}`);
      if (gone) throw new Error("ESRCH");
    },
  };
}

Deno.test("POSIX: the child's process group gets the signal, exited or not", () => {
  const signals = recording();
  killTree("posix", 42, "SIGTERM", false, signals);
  killTree("posix", 42, "SIGKILL", true, signals);
  assert.deepEqual(signals.asked, ["SIGTERM to group 42", "SIGKILL to group 42"]);
});

Deno.test("Windows: taskkill ends the tree, but never once the child has exited (its pid may be reused)", () => {
  const signals = recording();
  killTree("windows", 7, "SIGTERM", false, signals);
  killTree("windows", 7, "SIGTERM", true, signals);
  assert.deepEqual(signals.asked, ["taskkill 7"]);
});

Deno.test("a tree already gone is no error", () => {
  const signals = recording(true);
  killTree("posix", 9, "SIGTERM", false, signals);
  killTree("windows", 9, "SIGTERM", false, signals);
  assert.deepEqual(signals.asked, ["SIGTERM to group 9", "taskkill 9"]);
});
