/**
 * A lock file that lets only one proxy at a time sign in to (or refresh tokens for) a remote:
 * proxies started together wait for the first one's sign-in instead of each opening a browser.
 * The token file's own lock, held while it is rewritten, is one too.
 * @module
 */
import { mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";

/** A lock older than this is taken to be left behind by a proxy that hung. */
const STALE_AFTER_MS = 10 * 60_000;
/** How often a waiting proxy looks at the lock again. */
const POLL_MS = 200;

/** A held lock; release it exactly once. */
export interface HeldLock {
  /** Deletes the lock file, so that a waiting proxy can take it. */
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}

/** Whether the lock at `path` was left by a process that is gone, or is too old to trust. */
async function isStale(path: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const pid = Number.parseInt(text, 10);
    if (Date.now() - info.mtimeMs > STALE_AFTER_MS) return true;
    return Number.isInteger(pid) && pid > 0 && !isAlive(pid);
  } catch {
    // Gone already, or unreadable while being written: not stale, try again.
    return false;
  }
}

/**
 * Takes the lock at `path`, waiting while another live process holds it, looking again every
 * `pollMs`. `onWait` is called once when the lock is found taken.
 */
export async function acquireSignInLock(
  path: string,
  onWait: () => void,
  pollMs = POLL_MS,
): Promise<HeldLock> {
  let waited = false;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  while (true) {
    try {
      const file = await open(path, "wx", 0o600);
      await file.writeFile(String(process.pid));
      await file.close();
      return { release: () => unlink(path).catch(() => {}) };
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
    if (await isStale(path)) {
      await unlink(path).catch(() => {});
      continue;
    }
    if (!waited) onWait();
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
