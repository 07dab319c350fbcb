/**
 * Watching processes by pid (Linux `/proc`), to prove that none was left behind.
 * @module
 */

/** Whether `pid` is a live process (a zombie awaiting its reaper counts as gone). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Waits for `file` to hold space-separated pids (written by the fixture) and returns them. */
export async function readPids(file: string): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const text = await Deno.readTextFile(file).catch(() => "");
    if (text) return text.split(" ").map(Number);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${file} was never written`);
}

/** Waits up to five seconds for `pids` to be gone; returns the ones still alive. */
export async function survivors(pids: readonly number[]): Promise<number[]> {
  let left = [...pids];
  for (let i = 0; i < 100 && left.length > 0; i++) {
    left = (await Promise.all(left.map(async (pid) => await alive(pid) ? [pid] : []))).flat();
    if (left.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return left;
}
