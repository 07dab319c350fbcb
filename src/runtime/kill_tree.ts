/**
 * Signalling a child's whole process tree, the part both runtimes share: they differ only in
 * how they run `taskkill` and send a signal.
 * @module
 */
import type { OsFamily, Signal } from "./types.ts";

/** How one runtime reaches a process tree. */
export interface TreeSignals {
  /** Runs `taskkill /T /F /PID pid` (Windows), not waiting for it. */
  taskkill(pid: number): void;
  /** Sends `signal` to the process group `pid` leads (POSIX). */
  signalGroup(pid: number, signal: Signal): void;
}

/**
 * Sends `signal` to the tree of the child `pid`, which leads a process group of its own on
 * POSIX. Windows has no signals: the tree is ended with `taskkill`, unless the child has
 * `exited` (its pid may be another process's by now). A tree already gone is no error.
 */
export function killTree(
  os: OsFamily,
  pid: number,
  signal: Signal,
  exited: boolean,
  signals: TreeSignals,
): void {
  try {
    if (os === "windows") {
      if (!exited) signals.taskkill(pid);
    } else {
      // Negative pid: the whole process group, grandchildren included.
      signals.signalGroup(pid, signal);
    }
  } catch {
    // The group is already gone.
  }
}
