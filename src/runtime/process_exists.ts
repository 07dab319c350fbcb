/**
 * Whether a process is alive, the same way under Deno and Bun: Node's `process.kill` with
 * signal 0, which both implement (`Deno.kill` is typed for named signals only).
 * @module
 */
import process from "node:process";

/** Whether a process with id `pid` exists (one of another user's included). */
export function processExists(pid: number): boolean {
  try {
    // Signal 0 checks only that the process exists.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}
